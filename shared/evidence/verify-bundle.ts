// Verifies an evidence bundle offline (no network, no DATA_DIR): signature, key, files, chain, policies, catalogs, and each export.

import { stat } from "node:fs/promises";
import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import { parsePublicKey } from "#shared/crypto/signature.ts";
import { ApprovalLines } from "#shared/evidence/approval-lines.ts";
import { assessSession } from "#shared/evidence/assess-session.ts";
import { BUNDLE_FILES, type Manifest, type ManifestPolicyChange } from "#shared/evidence/bundle-format.ts";
import {
  BundleReadError,
  MAX_LINE_BYTES,
  MAX_MANIFEST_BYTES,
  MAX_PUBLIC_KEY_BYTES,
  MAX_SIGNATURE_BYTES,
  MAX_UNTRUSTED_READ_BYTES,
  type ReadBudget,
  readCapped,
} from "#shared/evidence/bundle-reader.ts";
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
} from "#shared/evidence/verify-files.ts";
import {
  LogSectionCheck,
  type PreviousCheckpoint,
  type VerifiedLog,
} from "#shared/evidence/verify-log-section.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { diffPolicies, type PolicyDifference } from "#shared/policy/policy-diff.ts";
import { isPolicyChange } from "#shared/sessions/policy-change.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { ANALYZER_VERSION } from "#shared/sql/analyzer-version.ts";
import type { Catalog } from "#shared/sql/types.ts";

/** Options of a verification. */
export interface VerifyOptions {
  /** The end checkpoint of an earlier bundle (already verified): this bundle's log must extend it. */
  readonly previous?: PreviousCheckpoint;
  /** The fingerprint (SHA-256 of the DER SPKI, hex) of the key the auditor trusts, obtained out of band. */
  readonly trustedKey?: string;
  /**
   * The policy the auditor expects (`--policy FILE`): every export is checked against it instead of the policy its
   * decision cites, so an export that it would have denied, masked or sent to review is a violation.
   */
  readonly expectedPolicy?: LoadedPolicy;
}

/** A policy change of the bundle's range, with the rules it changed (when both policies are in the bundle). */
export interface VerifiedPolicyChange extends ManifestPolicyChange {
  readonly differences: readonly PolicyDifference[] | undefined;
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
  /** The policy changes recorded in the range, in chain order. */
  readonly policyChanges: readonly VerifiedPolicyChange[];
  /** The range as a slice of the transparency log, when the bundle has a log section. */
  readonly log?: VerifiedLog;
  /** With `expectedPolicy`: its name and digest, and how many exports cite another policy. */
  readonly expectedPolicy?: {
    readonly name: string;
    readonly digest: string;
    readonly exportsCitingOthers: number;
  };
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
  /** Every policy digest a decision or a policy change cites. */
  readonly policyCited: Set<string>;
  readonly changes: ManifestPolicyChange[];
  exportsCitingOthers: number;
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
    policies: tally.policyCited.size,
    catalogs: tally.catalogSessions.size,
    ...(manifest.counts.policyChanges === undefined ? {} : { policyChanges: tally.changes.length }),
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
  if (
    manifest.policyChanges !== undefined &&
    canonicalJson(manifest.policyChanges) !== canonicalJson(tally.changes)
  ) {
    problems.push({
      class: "counts_mismatch",
      message: "the manifest's policy changes do not match the policy-change entries of sessions.jsonl",
    });
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

/** The most approval text a verification collects to compare with approvals.jsonl. */
const MAX_APPROVALS_BYTES = 256 * 1024 * 1024;

/** Reads one of the bundle's own files (manifest, signature, key); a failure is a sentence naming the file. */
async function readOwn(dir: string, path: string, cap: number): Promise<Buffer | string> {
  try {
    return await readCapped(dir, path, cap);
  } catch (error) {
    if (error instanceof BundleReadError) return error.message;
    return `${path} cannot be read`;
  }
}

/**
 * Verifies the bundle in `dir`. Every check runs; problems are returned most fundamental class first, so the
 * first one names the failure. Needs only the folder: no network, no DATA_DIR, no gateway. The folder is hostile
 * input: nothing in it is followed if it is a symlink, only regular files are read, each no further than the
 * manifest's size (or a fixed cap for the manifest, signature and key), lines one at a time; whatever goes wrong
 * is a problem naming the file, never an exception.
 */
export async function verifyBundle(dir: string, options: VerifyOptions = {}): Promise<Verification> {
  const trustedKey = options.trustedKey === undefined ? undefined : normalizeFingerprint(options.trustedKey);
  if (options.trustedKey !== undefined && trustedKey === undefined) {
    throw new TypeError("--trusted-key must be 64 hex digits (the SHA-256 fingerprint of the key)");
  }
  try {
    return await verifyFolder(dir, trustedKey, options.expectedPolicy, options.previous);
  } catch (error) {
    const reason =
      error instanceof Error ? (error.message.split("\n")[0] ?? "").slice(0, 300) : "unknown failure";
    return failed({ class: "not_a_bundle", message: `the bundle could not be read: ${reason}` });
  }
}

async function verifyFolder(
  dir: string,
  trustedKey: string | undefined,
  expectedPolicy: LoadedPolicy | undefined,
  previous: PreviousCheckpoint | undefined,
): Promise<Verification> {
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) return failed({ class: "not_a_bundle", message: `${dir} is not a folder` });
  const manifestBytes = await readOwn(dir, BUNDLE_FILES.manifest, MAX_MANIFEST_BYTES);
  if (typeof manifestBytes === "string") return failed({ class: "not_a_bundle", message: manifestBytes });
  const manifest = parseManifest(manifestBytes);
  if (typeof manifest === "string") return failed({ class: "not_a_bundle", message: manifest });
  const signature = await readOwn(dir, BUNDLE_FILES.signature, MAX_SIGNATURE_BYTES);
  if (typeof signature === "string") return failed({ class: "not_a_bundle", message: signature });
  const pem = await readOwn(dir, BUNDLE_FILES.publicKey, MAX_PUBLIC_KEY_BYTES);
  if (typeof pem === "string") return failed({ class: "not_a_bundle", message: pem });
  const problems: Problem[] = [];
  const key = checkKey(manifest, manifestBytes, signature, pem, trustedKey, problems);
  // Sizes are worth reading in full only when a trusted key signed them.
  const budget: ReadBudget =
    key.trust === "matched" && problems.length === 0
      ? { left: Number.POSITIVE_INFINITY, reason: "" }
      : {
          left: MAX_UNTRUSTED_READ_BYTES,
          reason: `the ${MAX_UNTRUSTED_READ_BYTES} this verifier reads of a bundle not signed by a trusted key (--trusted-key)`,
        };
  const { present, altered } = await checkFiles(dir, manifest, problems, budget);
  const policies = await loadPolicies(dir, manifest, present, problems);
  const catalogs = await loadCatalogs(dir, manifest, present, problems);
  const catalogReported = new Set<string>();
  const listedPolicies = new Set(manifest.policies.map((p) => p.digest));

  const approvals = new ApprovalLines(MAX_APPROVALS_BYTES);
  const tally: Tally = {
    entries: 0,
    lastStatus: new Map(),
    policySessions: new Map(),
    policyCited: new Set(),
    changes: [],
    exportsCitingOthers: 0,
    catalogSessions: new Map(),
    exports: 0,
    authorized: 0,
    maskedAsRequired: 0,
    reviewedByPeople: 0,
    reanalyzed: 0,
  };
  const compliance: Problem[] = [];
  const chainProblems: Problem[] = [];
  const logCheck = await LogSectionCheck.open(dir, manifest, previous);
  const sessionsListed = manifest.files.find((f) => f.path === BUNDLE_FILES.sessions);
  if (sessionsListed !== undefined && present.has(BUNDLE_FILES.sessions)) {
    const cap = Number.isFinite(budget.left) ? MAX_UNTRUSTED_READ_BYTES : Number.POSITIVE_INFINITY;
    const file = {
      root: dir,
      maxBytes: Math.min(sessionsListed.size + MAX_LINE_BYTES, cap),
      onLeaf: (leaf: Uint8Array) => logCheck.add(leaf),
    };
    const chain = await checkChainFile(file, manifest, async (seq, record, recordedAt) => {
      if (isPolicyChange(record)) {
        const { from, to, by } = record;
        tally.changes.push({ seq, recordedAt, from, to, by });
        for (const ref of from === null ? [to] : [from, to]) {
          tally.policyCited.add(ref.digest);
          if (!listedPolicies.has(ref.digest)) {
            problems.push({
              class: "policy_missing",
              message: `the policy change at seq ${seq} names policy ${ref.digest}, which is not in the bundle`,
            });
          }
        }
        return;
      }
      tally.lastStatus.set(record.sessionId, record.status);
      const digest = record.decision.policy.digest;
      tally.policyCited.add(digest);
      tally.policySessions.set(digest, (tally.policySessions.get(digest) ?? new Set()).add(record.sessionId));
      const cited = record.analysis?.catalog ?? null;
      if (cited !== null) {
        const sessions = tally.catalogSessions.get(cited.version) ?? new Set();
        tally.catalogSessions.set(cited.version, sessions.add(record.sessionId));
      }
      const catalog = catalogOf(seq, record, manifest, catalogs, catalogReported, problems);
      approvals.add(seq, record);
      if (!policies.has(digest) && !listedPolicies.has(digest)) {
        problems.push({
          class: "policy_missing",
          message: `session ${record.sessionId} (seq ${seq}) cites policy ${digest}, which is not in the bundle`,
        });
      }
      const policy = expectedPolicy ?? policies.get(digest);
      if (policy === undefined) return;
      const assessment = await assessSession(record, policy, catalog);
      if (assessment.authorization === "not_applicable") return;
      tally.exports += 1;
      if (expectedPolicy !== undefined && digest !== expectedPolicy.digest) tally.exportsCitingOthers += 1;
      if (assessment.authorization === "ok") tally.authorized += 1;
      if (assessment.masking === "ok") tally.maskedAsRequired += 1;
      if (assessment.review === "approved") tally.reviewedByPeople += 1;
      if (assessment.reanalysis === "ok") tally.reanalyzed += 1;
      compliance.push(...assessment.findings);
    }).catch((error: unknown): undefined => {
      chainProblems.push({
        class: "record_missing",
        message: error instanceof BundleReadError ? error.message : "sessions.jsonl cannot be read",
      });
      return undefined;
    });
    if (chain !== undefined) {
      chainProblems.push(...chain.problems);
      tally.entries = chain.entries;
    }
  } else {
    chainProblems.push({ class: "record_missing", message: "sessions.jsonl is missing" });
  }
  problems.push(...chainProblems);
  const parsedKey = parsePublicKey(pem.toString("utf8"));
  const logResult = await logCheck.verify(dir, "key" in parsedKey ? parsedKey.key : undefined);
  // A chain problem already explains why the entries re-derive another root: only the log's other findings add.
  problems.push(
    ...logResult.problems.filter((p) => p.class !== "log_proof_failed" || chainProblems.length === 0),
  );

  const expectedApprovals = approvals.overflow ? "" : approvals.text();
  if (approvals.overflow) {
    problems.push({
      class: "approvals_altered",
      message: `the records carry more than the ${MAX_APPROVALS_BYTES} bytes of approvals this verifier compares`,
    });
  } else if (present.has(BUNDLE_FILES.approvals)) {
    const cap = Buffer.byteLength(expectedApprovals, "utf8") + MAX_LINE_BYTES;
    let actual: string | undefined;
    try {
      actual = (await readCapped(dir, BUNDLE_FILES.approvals, cap)).toString("utf8");
    } catch (error) {
      actual = error instanceof BundleReadError && error.reason === "too_large" ? undefined : "";
    }
    if (actual !== expectedApprovals) {
      problems.push({
        class: "approvals_altered",
        message:
          actual === undefined
            ? "approvals.jsonl is longer than the approvals recorded in sessions.jsonl"
            : `approvals.jsonl line ${firstDifference(expectedApprovals, actual)} differs from the approvals recorded in sessions.jsonl`,
      });
    }
  }
  const explained = new Set(problems.map((p) => p.class));
  for (const path of altered) {
    const isExplained =
      (path === BUNDLE_FILES.sessions && chainProblems.length > 0) ||
      (path === BUNDLE_FILES.approvals && explained.has("approvals_altered")) ||
      (path === BUNDLE_FILES.publicKey && explained.has("public_key_replaced")) ||
      (path.startsWith("log/") &&
        (explained.has("log_checkpoint_invalid") || explained.has("log_proof_failed"))) ||
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
  const policyChanges = tally.changes.map((change): VerifiedPolicyChange => {
    const before = change.from === null ? undefined : policies.get(change.from.digest);
    const after = policies.get(change.to.digest);
    return {
      ...change,
      differences:
        before === undefined || after === undefined
          ? undefined
          : diffPolicies(before.document, after.document),
    };
  });
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
      policyChanges,
      ...(logResult.log === undefined ? {} : { log: logResult.log }),
      ...(expectedPolicy === undefined
        ? {}
        : {
            expectedPolicy: {
              name: expectedPolicy.document.name,
              digest: expectedPolicy.digest,
              exportsCitingOthers: tally.exportsCitingOthers,
            },
          }),
    },
  };
}
