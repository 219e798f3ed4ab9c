// The evidence bundle format (phigate.evidence-bundle/v3): file names, the manifest schema and the approvals line.

import * as z from "zod";
import { manifestLogSchema } from "#shared/evidence/log-section.ts";
import { SIGNATURE_ALGORITHM } from "#shared/ports.ts";
import { policyChangeRecordSchema } from "#shared/sessions/policy-change.ts";
import { sessionStatusSchema } from "#shared/sessions/record.ts";

/** Schema identifier of the manifest; bump the suffix on an incompatible change. */
export const BUNDLE_SCHEMA = "phigate.evidence-bundle/v3";

/** The manifests this verifier reads: v3 adds policy-change entries to v2 (a v2 bundle has none). */
export const READABLE_BUNDLE_SCHEMAS = ["phigate.evidence-bundle/v2", BUNDLE_SCHEMA] as const;

/** The files every bundle has, besides `policies/<digest>.yaml` and `catalogs/<version>.json`. */
export const BUNDLE_FILES = {
  manifest: "manifest.json",
  signature: "manifest.sig",
  publicKey: "public-key.pem",
  sessions: "sessions.jsonl",
  approvals: "approvals.jsonl",
  report: "report.html",
} as const;

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Whether a bundle-relative path is safe: `/`-separated plain names, no `.` or `..`, no absolute path. */
export function isSafeBundlePath(path: string): boolean {
  const parts = path.split("/");
  return parts.length <= 4 && parts.every((part) => SEGMENT.test(part) && part !== "." && part !== "..");
}

/** The bundle-relative path of a policy text. */
export function policyPath(digest: string): string {
  return `policies/${digest}.yaml`;
}

/** The bundle-relative path of a catalog snapshot. */
export function catalogPath(version: string): string {
  return `catalogs/${version}.json`;
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const isoTime = z.iso.datetime({ offset: true });
const count = z.number().int().nonnegative();
const chainPoint = z.strictObject({ seq: z.number().int().positive(), digest: sha256 });

/** One file listed in the manifest. */
export const manifestFileSchema = z.strictObject({
  path: z.string().min(1).max(300),
  sha256,
  size: count,
});

/** One policy change recorded in the range: its chain entry, and what it recorded. */
export const manifestPolicyChangeSchema = z.strictObject({
  seq: z.number().int().positive(),
  recordedAt: isoTime,
  from: policyChangeRecordSchema.shape.from,
  to: policyChangeRecordSchema.shape.to,
  by: policyChangeRecordSchema.shape.by,
});

/** One policy change in the manifest. */
export type ManifestPolicyChange = z.infer<typeof manifestPolicyChangeSchema>;

/** The manifest: what the bundle holds and what it claims, signed as a whole by `manifest.sig`. */
export const manifestSchema = z.strictObject({
  schema: z.enum(READABLE_BUNDLE_SCHEMAS),
  bundleId: z.string().min(1).max(100),
  createdAt: isoTime,
  generator: z.strictObject({ name: z.string(), version: z.string() }),
  /** Chain entries recorded at `from` <= recordedAt < `to`. */
  range: z.strictObject({ from: isoTime, to: isoTime }),
  chain: z.strictObject({
    /** The `prev` of the very first entry of the whole chain. */
    genesis: sha256,
    /** The `prev` of this bundle's first entry: the digest of the entry before the range (or the genesis). */
    anchor: sha256.nullable(),
    first: chainPoint.nullable(),
    last: chainPoint.nullable(),
    entries: count,
  }),
  counts: z.strictObject({
    entries: count,
    sessions: count,
    /** Sessions that returned data (status `completed`). */
    exports: count,
    approvals: count,
    policies: count,
    catalogs: count,
    /** Policy-change entries in the range (v3). */
    policyChanges: count.optional(),
    /** Sessions by the status of their last version in the range. */
    statuses: z.partialRecord(sessionStatusSchema, count),
  }),
  /** Stored masked results of the exports, re-hashed against their records when the bundle was built. */
  results: z.strictObject({ verified: count, missing: count, mismatched: count }),
  /** Every policy cited by a decision or a policy change in the range (`sessions`: the decisions citing it). */
  policies: z.array(z.strictObject({ digest: sha256, name: z.string(), path: z.string(), sessions: count })),
  /** Every policy change recorded in the range, in chain order (v3): the timeline `report.html` shows first. */
  policyChanges: z.array(manifestPolicyChangeSchema).optional(),
  /** The analyzer that built the bundle (and re-analyzed its exports for the report): `ANALYZER_VERSION`. */
  analyzer: z.strictObject({ version: count }),
  /** Every catalog snapshot a session in the range was analyzed against, by version, with its SHA-256. */
  catalogs: z.array(z.strictObject({ version: sha256, sha256, path: z.string(), sessions: count })),
  signing: z.strictObject({
    algorithm: z.literal(SIGNATURE_ALGORITHM),
    keyFingerprint: sha256,
    publicKey: z.literal(BUNDLE_FILES.publicKey),
    signature: z.literal(BUNDLE_FILES.signature),
  }),
  /** The range as leaves of the transparency log, with its checkpoints and proofs (absent before the log). */
  log: manifestLogSchema.optional(),
  /** Every file of the bundle except `manifest.json` and `manifest.sig`, by path. */
  files: z.array(manifestFileSchema),
});

/** A bundle manifest. */
export type Manifest = z.infer<typeof manifestSchema>;

/** Whether a manifest's v3 fields are there exactly when its schema says v3; a sentence saying why not otherwise. */
export function manifestShapeProblem(manifest: Manifest): string | undefined {
  const v3 = manifest.schema === BUNDLE_SCHEMA;
  const has = manifest.policyChanges !== undefined && manifest.counts.policyChanges !== undefined;
  const none = manifest.policyChanges === undefined && manifest.counts.policyChanges === undefined;
  if (v3 && !has) return "a v3 manifest must list policyChanges and count them";
  if (!v3 && !none) return "a v2 manifest cannot list policy changes";
  return undefined;
}

/** One line of `approvals.jsonl`: an approver's decision on a session, as first recorded in the range. */
export const approvalLineSchema = z.strictObject({
  sessionId: z.string(),
  /** The first entry of the range whose record carries this decision. */
  seq: z.number().int().positive(),
  approver: z.string(),
  approverKey: z.string(),
  decision: z.enum(["approve", "deny"]),
  at: z.string(),
  comment: z.string().nullable(),
  /** The binding digest the approver was shown. */
  binding: sha256,
  /** The binding the session's approval request was created with (null when the record has none). */
  requestBinding: sha256.nullable(),
});

/** One line of `approvals.jsonl`. */
export type ApprovalLine = z.infer<typeof approvalLineSchema>;
