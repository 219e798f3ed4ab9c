// Verifies an evidence bundle offline (no network, no DATA_DIR): signature, key, files, chain, policies, and each export.

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { ApprovalLines } from "#shared/evidence/approval-lines.ts";
import { assessSession } from "#shared/evidence/assess-session.ts";
import { hashFile, listBundle } from "#shared/evidence/bundle-files.ts";
import {
  BUNDLE_FILES,
  isSafeBundlePath,
  type Manifest,
  manifestSchema,
  policyPath,
} from "#shared/evidence/bundle-format.ts";
import { byPrecedence, type Problem } from "#shared/evidence/problems.ts";
import { keyFingerprint, parsePublicKey, verifySignature } from "#shared/evidence/signature.ts";
import { checkChainFile } from "#shared/evidence/verify-chain-file.ts";
import { type LoadedPolicy, parsePolicy } from "#shared/policy/load.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";

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
  readonly approvals: number;
  readonly policies: number;
}

/** The result of verifying a bundle. */
export interface Verification {
  readonly ok: boolean;
  /** Every problem found, most fundamental class first. */
  readonly problems: readonly Problem[];
  readonly manifest: Manifest | undefined;
  readonly keyFingerprint: string | undefined;
  /** Whether the signing key was compared with a trusted fingerprint. */
  readonly trust: "matched" | "mismatched" | "not_checked";
  readonly facts: VerificationFacts | undefined;
}

/** Normalizes a fingerprint as people copy it (any case, optional `:` or spaces); undefined when malformed. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.replace(/[:\s]/g, "").toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
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

function parseManifest(bytes: Buffer): Manifest | string {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch {
    return "manifest.json is not JSON";
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `manifest.json is not a phigate.evidence-bundle/v1 manifest (${issue?.path.join(".") || "root"}: ${issue?.message ?? "invalid"})`;
  }
  const unsafe = parsed.data.files.find((f) => !isSafeBundlePath(f.path));
  if (unsafe !== undefined) return `manifest.json lists an unsafe path ${JSON.stringify(unsafe.path)}`;
  return parsed.data;
}

function checkKey(
  manifest: Manifest,
  manifestBytes: Buffer,
  signature: Buffer,
  pem: Buffer,
  trustedKey: string | undefined,
  problems: Problem[],
): { fingerprint: string | undefined; trust: Verification["trust"] } {
  const parsed = parsePublicKey(pem.toString("utf8"));
  if ("problem" in parsed) {
    problems.push({ class: "public_key_replaced", message: `public-key.pem ${parsed.problem}` });
    return { fingerprint: undefined, trust: trustedKey === undefined ? "not_checked" : "mismatched" };
  }
  const fingerprint = keyFingerprint(parsed.key);
  if (fingerprint !== manifest.signing.keyFingerprint) {
    problems.push({
      class: "public_key_replaced",
      message: `public-key.pem has fingerprint ${fingerprint}, but the manifest names ${manifest.signing.keyFingerprint}`,
    });
  }
  if (!verifySignature(parsed.key, manifestBytes, signature)) {
    problems.push({
      class: "signature_invalid",
      message:
        "manifest.sig is not a valid ECDSA P-256 / SHA-256 signature of manifest.json by public-key.pem",
    });
  }
  if (trustedKey === undefined) return { fingerprint, trust: "not_checked" };
  if (fingerprint !== trustedKey) {
    problems.push({
      class: "untrusted_key",
      message: `the bundle is signed by key ${fingerprint}, not the trusted key ${trustedKey}`,
    });
    return { fingerprint, trust: "mismatched" };
  }
  return { fingerprint, trust: "matched" };
}

async function checkFiles(dir: string, manifest: Manifest, problems: Problem[]): Promise<Set<string>> {
  const altered = new Set<string>();
  const found = await listBundle(dir);
  const listed = new Map(manifest.files.map((f) => [f.path, f]));
  const own = new Set<string>([BUNDLE_FILES.manifest, BUNDLE_FILES.signature]);
  const present = new Set<string>();
  for (const entry of found) {
    if (own.has(entry.path) || listed.has(entry.path)) {
      if (!entry.regular) {
        problems.push({ class: "file_unexpected", message: `${entry.path} is not a regular file` });
      } else present.add(entry.path);
      continue;
    }
    problems.push({
      class: "file_unexpected",
      message: `${entry.path} is in the bundle but not in the manifest`,
    });
  }
  for (const file of manifest.files) {
    if (!present.has(file.path)) {
      problems.push({ class: "file_missing", message: `${file.path} is listed in the manifest but missing` });
      continue;
    }
    const actual = await hashFile(join(dir, file.path));
    if (actual.sha256 !== file.sha256 || actual.size !== file.size) altered.add(file.path);
  }
  return altered;
}

async function loadPolicies(
  dir: string,
  manifest: Manifest,
  problems: Problem[],
): Promise<Map<string, LoadedPolicy>> {
  const policies = new Map<string, LoadedPolicy>();
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const cited of manifest.policies) {
    if (cited.path !== policyPath(cited.digest) || !listed.has(cited.path)) {
      problems.push({
        class: "policy_missing",
        message: `policy ${cited.digest} is named in the manifest but its file is not listed`,
      });
      continue;
    }
    const bytes = await readOptional(join(dir, cited.path));
    if (bytes === undefined) continue;
    if (sha256Hex(bytes) !== cited.digest) {
      problems.push({
        class: "policy_altered",
        message: `${cited.path} does not hash to ${cited.digest}: the policy text was changed after the decisions that cite it`,
      });
      continue;
    }
    try {
      policies.set(cited.digest, parsePolicy(bytes.toString("utf8"), cited.path));
    } catch (error) {
      problems.push({
        class: "policy_unreadable",
        message: `${cited.path}: ${error instanceof Error ? error.message.split("\n")[0] : "cannot be parsed"}`,
      });
    }
  }
  return policies;
}

interface Tally {
  entries: number;
  readonly lastStatus: Map<string, SessionRecord["status"]>;
  readonly policySessions: Map<string, Set<string>>;
  exports: number;
  authorized: number;
  maskedAsRequired: number;
  reviewedByPeople: number;
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
  return problems;
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

  const approvals = new ApprovalLines();
  const tally: Tally = {
    entries: 0,
    lastStatus: new Map(),
    policySessions: new Map(),
    exports: 0,
    authorized: 0,
    maskedAsRequired: 0,
    reviewedByPeople: 0,
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
      const assessment = await assessSession(record, policy);
      if (assessment.authorization === "not_applicable") return;
      tally.exports += 1;
      if (assessment.authorization === "ok") tally.authorized += 1;
      if (assessment.masking === "ok") tally.maskedAsRequired += 1;
      if (assessment.review === "approved") tally.reviewedByPeople += 1;
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
        problems.some((p) => p.class === "policy_altered" && p.message.startsWith(path)));
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
      approvals: approvals.lines.length,
      policies: policies.size,
    },
  };
}
