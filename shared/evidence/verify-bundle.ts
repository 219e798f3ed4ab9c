// Verifies an evidence bundle offline (no network, no DATA_DIR): signature, key, files, chain, policies, catalogs, and each export.

import { stat } from "node:fs/promises";
import { join } from "node:path";
import { ApprovalLines } from "#shared/evidence/approval-lines.ts";
import { assessSession } from "#shared/evidence/assess-session.ts";
import { BUNDLE_FILES, type Manifest } from "#shared/evidence/bundle-format.ts";
import { byPrecedence, type Problem } from "#shared/evidence/problems.ts";
import { checkChainFile } from "#shared/evidence/verify-chain-file.ts";
import {
  type BundledCatalog,
  checkFiles,
  checkKey,
  type KeyTrust,
  loadCatalogs,
  loadPolicies,
  parseManifest,
  readOptional,
} from "#shared/evidence/verify-files.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { ANALYZER_VERSION } from "#shared/sql/analyzer-version.ts";
import type { Catalog } from "#shared/sql/types.ts";

/** Options of a verification. */
export interface VerifyOptions {
  /** The fingerprint (SHA-256 of the DER SPKI, hex) of the key the auditor trusts, obtained out of band. */
  readonly trustedKey?: string;
}

/** What was checked, for the summary. */
export interface VerificationFacts {
  readonly files: number;
  readonly entries: number;
  readonly sessions: number;
  readonly exports: number;
  readonly authorized: number;
  /** Exports whose every column carries the masking the bundled policy requires. */
  readonly maskedAsRequired: number;
  readonly reviewedByPeople: number;
  /** Exports re-analyzed from their SQL text by this verifier, with the same outcome and masking as recorded. */
  readonly reanalyzed: number;
  readonly approvals: number;
  readonly policies: number;
  readonly catalogs: number;
  /** `ANALYZER_VERSION` of the bundle's builder and of this verifier. */
  readonly analyzer: { readonly bundle: number; readonly verifier: number };
}

/** The result of verifying a bundle. */
export interface Verification {
  readonly ok: boolean;
  /** Every problem found, most fundamental class first. */
  readonly problems: readonly Problem[];
  readonly manifest: Manifest | undefined;
  readonly keyFingerprint: string | undefined;
  /** Whether the signing key was compared with a trusted fingerprint. */
  readonly trust: KeyTrust;
  readonly facts: VerificationFacts | undefined;
}

/** Normalizes a fingerprint as people copy it (any case, optional `:` or spaces); undefined when malformed. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.replace(/[:\s]/g, "").toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

function failed(problem: Problem): Verification {
  return {
    ok: false,
    problems: [problem],
    manifest: undefined,
    keyFingerprint: undefined,
    trust: "not_checked",
    facts: undefined,
  };
}

interface Tally {
  entries: number;
  readonly lastStatus: Map<string, SessionRecord["status"]>;
  readonly policySessions: Map<string, Set<string>>;
  readonly catalogSessions: Map<string, Set<string>>;
  exports: number;
  authorized: number;
  maskedAsRequired: number;
  reviewedByPeople: number;
  reanalyzed: number;
}

function countsProblems(manifest: Manifest, tally: Tally, approvals: number): Problem[] {
  const statuses: Record<string, number> = {};
  for (const status of tally.lastStatus.values()) statuses[status] = (statuses[status] ?? 0) + 1;
  const actual = {
    entries: tally.entries,
    sessions: tally.lastStatus.size,
    exports: statuses.completed ?? 0,
    approvals,
    policies: tally.policySessions.size,
    catalogs: tally.catalogSessions.size,
  };
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(actual)) {
    const claimed = manifest.counts[name as keyof typeof actual];
    if (claimed !== value) {
      problems.push({
        class: "counts_mismatch",
        message: `the manifest counts ${claimed} ${name}, the bundle holds ${value}`,
      });
    }
  }
  if (manifest.chain.entries !== tally.entries) {
    problems.push({
      class: "counts_mismatch",
      message: `the manifest's chain has ${manifest.chain.entries} entries, sessions.jsonl has ${tally.entries}`,
    });
  }
  const claimedStatuses = JSON.stringify(Object.entries(manifest.counts.statuses).sort());
  if (claimedStatuses !== JSON.stringify(Object.entries(statuses).sort())) {
    problems.push({
      class: "counts_mismatch",
      message: "the manifest's sessions by status do not match the records",
    });
  }
  for (const p of manifest.policies) {
    const sessions = tally.policySessions.get(p.digest)?.size ?? 0;
    if (sessions !== p.sessions) {
      problems.push({
        class: "counts_mismatch",
        message: `the manifest says ${p.sessions} session(s) cite policy ${p.digest.slice(0, 12)}, the records say ${sessions}`,
      });
    }
  }
  for (const c of manifest.catalogs) {
    const sessions = tally.catalogSessions.get(c.version)?.size ?? 0;
    if (sessions !== c.sessions) {
      problems.push({
        class: "counts_mismatch",
        message: `the manifest says ${c.sessions} session(s) were analyzed against catalog ${c.version.slice(0, 12)}, the records say ${sessions}`,
      });
    }
  }
  return problems;
}

/**
 * The catalog snapshot a record was analyzed against, from the bundle; reports (once per session) a catalog the
 * bundle lacks or holds with other bytes, and an export whose record names none (it cannot be re-analyzed).
 */
function catalogOf(
  seq: number,
  record: SessionRecord,
  manifest: Manifest,
  catalogs: ReadonlyMap<string, BundledCatalog>,
  reported: Set<string>,
  problems: Problem[],
): Catalog | undefined {
  const ref = record.analysis?.catalog ?? null;
  const id = record.sessionId;
  const report = (problem: Problem): undefined => {
    if (!reported.has(id)) problems.push(problem);
    reported.add(id);
    return undefined;
  };
  if (ref === null) {
    if (record.status !== "completed" || record.result === null) return undefined;
    return report({
      class: "catalog_missing",
      message: `session ${id} (seq ${seq}) returned data, but its record does not name the catalog it was analyzed against: it cannot be re-analyzed`,
    });
  }
  const bundled = catalogs.get(ref.version);
  if (bundled === undefined) {
    if (manifest.catalogs.some((c) => c.version === ref.version)) return undefined;
    return report({
      class: "catalog_missing",
      message: `session ${id} (seq ${seq}) was analyzed against catalog ${ref.version}, which is not in the bundle`,
    });
  }
  if (bundled.sha256 !== ref.sha256) {
    return report({
      class: "catalog_altered",
      message: `session ${id} (seq ${seq}) was analyzed against catalog ${ref.version.slice(0, 12)} with SHA-256 ${ref.sha256}, but the bundle's snapshot has ${bundled.sha256}`,
    });
  }
  return bundled.catalog;
}

function firstDifference(expected: string, actual: string): number {
  const a = expected.split("\n");
  const b = actual.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i + 1;
  return 0;
}

/**
 * Verifies the bundle in `dir`. Every check runs; problems are returned most fundamental class first, so the
 * first one names the failure. Needs only the folder: no network, no DATA_DIR, no gateway.
 */
export async function verifyBundle(dir: string, options: VerifyOptions = {}): Promise<Verification> {
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) return failed({ class: "not_a_bundle", message: `${dir} is not a folder` });
  const manifestBytes = await readOptional(join(dir, BUNDLE_FILES.manifest));
  if (manifestBytes === undefined)
    return failed({ class: "not_a_bundle", message: "manifest.json is missing" });
  const manifest = parseManifest(manifestBytes);
  if (typeof manifest === "string") return failed({ class: "not_a_bundle", message: manifest });
  const signature = await readOptional(join(dir, BUNDLE_FILES.signature));
  const pem = await readOptional(join(dir, BUNDLE_FILES.publicKey));
  if (signature === undefined || pem === undefined) {
    return failed({
      class: "not_a_bundle",
      message: `${signature === undefined ? BUNDLE_FILES.signature : BUNDLE_FILES.publicKey} is missing`,
    });
  }
  const problems: Problem[] = [];
  const trustedKey = options.trustedKey === undefined ? undefined : normalizeFingerprint(options.trustedKey);
  if (options.trustedKey !== undefined && trustedKey === undefined) {
    throw new TypeError("--trusted-key must be 64 hex digits (the SHA-256 fingerprint of the key)");
  }
  const key = checkKey(manifest, manifestBytes, signature, pem, trustedKey, problems);
  const altered = await checkFiles(dir, manifest, problems);
  const policies = await loadPolicies(dir, manifest, problems);
  const catalogs = await loadCatalogs(dir, manifest, problems);
  const catalogReported = new Set<string>();

  const approvals = new ApprovalLines();
  const tally: Tally = {
    entries: 0,
    lastStatus: new Map(),
    policySessions: new Map(),
    catalogSessions: new Map(),
    exports: 0,
    authorized: 0,
    maskedAsRequired: 0,
    reviewedByPeople: 0,
    reanalyzed: 0,
  };
  const compliance: Problem[] = [];
  const sessionsPath = join(dir, BUNDLE_FILES.sessions);
  const chainProblems: Problem[] = [];
  const sessionsPresent = await stat(sessionsPath).then(
    (s) => s.isFile(),
    () => false,
  );
  if (manifest.files.some((f) => f.path === BUNDLE_FILES.sessions) && sessionsPresent) {
    const chain = await checkChainFile(sessionsPath, manifest, async (seq, record) => {
      tally.lastStatus.set(record.sessionId, record.status);
      const digest = record.decision.policy.digest;
      tally.policySessions.set(digest, (tally.policySessions.get(digest) ?? new Set()).add(record.sessionId));
      const cited = record.analysis?.catalog ?? null;
      if (cited !== null) {
        const sessions = tally.catalogSessions.get(cited.version) ?? new Set();
        tally.catalogSessions.set(cited.version, sessions.add(record.sessionId));
      }
      const catalog = catalogOf(seq, record, manifest, catalogs, catalogReported, problems);
      approvals.add(seq, record);
      const policy = policies.get(digest);
      if (policy === undefined) {
        if (!manifest.policies.some((p) => p.digest === digest)) {
          problems.push({
            class: "policy_missing",
            message: `session ${record.sessionId} (seq ${seq}) cites policy ${digest}, which is not in the bundle`,
          });
        }
        return;
      }
      const assessment = await assessSession(record, policy, catalog);
      if (assessment.authorization === "not_applicable") return;
      tally.exports += 1;
      if (assessment.authorization === "ok") tally.authorized += 1;
      if (assessment.masking === "ok") tally.maskedAsRequired += 1;
      if (assessment.review === "approved") tally.reviewedByPeople += 1;
      if (assessment.reanalysis === "ok") tally.reanalyzed += 1;
      compliance.push(...assessment.findings);
    });
    chainProblems.push(...chain.problems);
    tally.entries = chain.entries;
  } else {
    chainProblems.push({ class: "record_missing", message: "sessions.jsonl is missing" });
  }
  problems.push(...chainProblems);

  const approvalsText = (await readOptional(join(dir, BUNDLE_FILES.approvals)))?.toString("utf8");
  if (approvalsText !== undefined && approvalsText !== approvals.text()) {
    problems.push({
      class: "approvals_altered",
      message: `approvals.jsonl line ${firstDifference(approvals.text(), approvalsText)} differs from the approvals recorded in sessions.jsonl`,
    });
  }
  const explained = new Set(problems.map((p) => p.class));
  for (const path of altered) {
    const isExplained =
      (path === BUNDLE_FILES.sessions && chainProblems.length > 0) ||
      (path === BUNDLE_FILES.approvals && explained.has("approvals_altered")) ||
      (path === BUNDLE_FILES.publicKey && explained.has("public_key_replaced")) ||
      (path.startsWith("policies/") &&
        problems.some((p) => p.class === "policy_altered" && p.message.startsWith(path))) ||
      (path.startsWith("catalogs/") &&
        problems.some((p) => p.class === "catalog_altered" && p.message.startsWith(path)));
    if (!isExplained) {
      problems.push({
        class: "file_altered",
        message: `${path}: SHA-256 or size does not match the manifest`,
      });
    }
  }
  problems.push(...countsProblems(manifest, tally, approvals.lines.length));
  problems.push(...compliance);
  const sorted = byPrecedence(problems);
  return {
    ok: sorted.length === 0,
    problems: sorted,
    manifest,
    keyFingerprint: key.fingerprint,
    trust: key.trust,
    facts: {
      files: manifest.files.length + 2,
      entries: tally.entries,
      sessions: tally.lastStatus.size,
      exports: tally.exports,
      authorized: tally.authorized,
      maskedAsRequired: tally.maskedAsRequired,
      reviewedByPeople: tally.reviewedByPeople,
      reanalyzed: tally.reanalyzed,
      approvals: approvals.lines.length,
      policies: policies.size,
      catalogs: catalogs.size,
      analyzer: { bundle: manifest.analyzer.version, verifier: ANALYZER_VERSION },
    },
  };
}
