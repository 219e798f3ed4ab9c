// The versioned session record: everything the gateway knows about one request, validated whenever it is read.

import * as z from "zod";
import { principalSchema } from "#shared/identity/principal.ts";
import { SESSION_ID_PATTERN } from "#shared/ids.ts";

/** Schema identifier stored in every record; bump the suffix on an incompatible change. */
export const SESSION_RECORD_SCHEMA = "phigate.session/v1";

/** Every status a session can be in (contract §2). */
export const sessionStatusSchema = z.enum([
  "pending_approval",
  "approved",
  "denied",
  "expired",
  "running",
  "completed",
  "failed",
  "rejected",
  "dry_run",
]);

/** A session status. */
export type SessionStatus = z.infer<typeof sessionStatusSchema>;

/** Statuses after which nothing more happens to a session. */
export const TERMINAL_STATUSES: ReadonlySet<SessionStatus> = new Set([
  "denied",
  "expired",
  "completed",
  "failed",
  "rejected",
  "dry_run",
]);

const isoTime = z.iso.datetime();
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

const tableRef = z.object({ schema: z.string(), table: z.string() });
const columnRef = tableRef.extend({ column: z.string() });

/** What the classifier found, as stored (forward-compatible: unknown fields are kept). */
export const storedClassificationSchema = z.looseObject({
  kind: z.string(),
  statementType: z.string(),
  relations: z.array(tableRef.extend({ kind: z.string() })),
  columns: z.array(columnRef.extend({ clauses: z.array(z.string()) })),
  functions: z.array(z.looseObject({ schema: z.string().optional(), name: z.string() })),
  wholeRows: z.array(tableRef.extend({ clauses: z.array(z.string()) })),
  outputs: z.array(
    z.object({
      position: z.number().int(),
      name: z.string(),
      kind: z.enum(["copy", "transform", "constant"]),
      sources: z.array(columnRef),
      wholeRows: z.array(tableRef),
      transforms: z.array(z.string()),
    }),
  ),
  limit: z.number().nullable(),
  paramCount: z.number().int(),
  /** Absent in records made before the opacity rules (analyzer 1): such a record cannot be re-decided. */
  exposures: z.array(columnRef.extend({ via: z.array(z.string()) })).optional(),
  wholeRowExposures: z.array(tableRef.extend({ via: z.array(z.string()) })).optional(),
  lookupValues: z.number().int().nonnegative().optional(),
});

/** Masking of one output column as reported to callers (contract: `null | {rule, strategy}`). */
export const columnMaskingSchema = z.object({ rule: z.string(), strategy: z.string() }).nullable();

/** One result column as returned and recorded. */
export const resultColumnSchema = z.object({
  name: z.string(),
  type: z.string(),
  masking: columnMaskingSchema,
});

/** One approver's decision. */
export const approvalDecisionSchema = z.object({
  approver: z.string(),
  approverKey: z.string(),
  decision: z.enum(["approve", "deny"]),
  at: isoTime,
  comment: z.string().nullable(),
  /** The binding digest the approver was shown (SQL + parameters + requester). */
  binding: sha256Hex,
});

/** The session record, version by version. */
export const sessionRecordSchema = z.object({
  schema: z.literal(SESSION_RECORD_SCHEMA),
  sessionId: z.string().regex(SESSION_ID_PATTERN),
  /** 1 for the first stored version, +1 per update. */
  version: z.number().int().positive(),
  status: sessionStatusSchema,
  createdAt: isoTime,
  updatedAt: isoTime,
  completedAt: isoTime.nullable(),
  transitions: z
    .array(z.object({ status: sessionStatusSchema, at: isoTime, note: z.string().optional() }))
    .min(1),
  principal: principalSchema,
  client: z.object({ ip: z.string().nullable(), userAgent: z.string().nullable() }),
  request: z.object({
    sql: z.string(),
    sqlDigest: sha256Hex,
    /** Parameters are PHI-prone: kept as keyed digests unless the policy says to keep them. */
    params: z.object({
      count: z.number().int().nonnegative(),
      mode: z.enum(["digest", "kept"]),
      digests: z.array(sha256Hex).optional(),
      values: z.array(z.unknown()).optional(),
    }),
    purpose: z.string().nullable(),
    /** Digest of the request as a whole (SQL, parameters, purpose): what an idempotent retry must match. */
    requestDigest: sha256Hex,
    idempotencyKey: z.string().nullable(),
  }),
  classification: storedClassificationSchema,
  /**
   * What produced the classification: the analyzer's version (`ANALYZER_VERSION`) and the catalog snapshot it
   * classified against (`Catalog.version` and the SHA-256 of the archived snapshot), so evidence can re-analyze
   * the statement offline. Absent in records written before it.
   */
  analysis: z
    .object({
      analyzerVersion: z.number().int().nonnegative(),
      catalog: z.object({ version: z.string(), sha256: sha256Hex }).nullable(),
    })
    .optional(),
  decision: z.object({
    outcome: z.enum(["allow", "deny", "require_approval"]),
    reasons: z.array(z.string()),
    rules: z.array(z.string()),
    policy: z.object({ name: z.string(), digest: sha256Hex }),
    /** The policy principal entry that matched, or null when none did. */
    matchedPrincipal: z.string().nullable(),
    limits: z.object({ maxRows: z.number().int().positive(), timeoutMs: z.number().int().positive() }),
    /** The planner's row estimate, when a risk rule asked for it. */
    estimatedRows: z.number().nullable().optional(),
    /** The caller's PHI rows recorded in a risk rule's window, when a rule counted them (absent otherwise). */
    windowRows: z.number().int().nonnegative().optional(),
    /** The planner's total cost, when the policy limited it (absent in records made before it was recorded). */
    estimatedCost: z.number().nonnegative().optional(),
    /**
     * 128 random bits beside a recorded estimate, withheld with it from the requester: the record's digest, which
     * the requester sees in the replay and the proof, then commits to the estimate without letting anyone try
     * candidate estimates against it (the twenty-third outside attack rebuilt a dry run's record and guessed its
     * estimate until the digest matched). Absent when no estimate is recorded (and in records made before it).
     */
    estimateSalt: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .optional(),
    /** The PHI rows an allowed statement may return unapproved before `rule` applies (docs/policy.md). */
    rowBudget: z
      .object({
        rows: z.number().int().positive(),
        rule: z.string(),
        action: z.enum(["require_approval", "deny"]),
        /** The PHI rows each returned row counts as; absent: 1 (and in records made before it). */
        weight: z.number().int().min(2).optional(),
      })
      .optional(),
    /**
     * The PHI rows one result row takes per table whose protected columns reach it, where more than one (the
     * occurrences of the table behind it; docs/policy.md). Absent: 1 for every table (and in records made before it).
     */
    occurrences: z.record(z.string(), z.number().int().min(2)).optional(),
    /**
     * The PHI tables any of whose columns reach the result (docs/policy.md): the read ledger counts the session's
     * rows against each. Absent: none (and in records made before it, the tables of the masked columns).
     */
    phiTables: z.array(z.string()).optional(),
    /**
     * How the policy's issuer aliases resolved when deciding (the dev IdP's issuer, or null when it was off),
     * so the decision can be re-evaluated offline from the bundled policy. Absent in records written before it.
     */
    matchContext: z.object({ devIssuer: z.string().nullable() }).optional(),
  }),
  masking: z
    .object({
      /** The masked output columns and how (`strategy: detect` when only the content detectors run). */
      plan: z.array(
        z.object({ column: z.string(), position: z.number().int(), rule: z.string(), strategy: z.string() }),
      ),
      /** What was applied: cells per strategy, detector hits per kind, withheld values (counts only). */
      applied: z.record(z.string(), z.number()).optional(),
    })
    .nullable(),
  approval: z
    .object({
      id: z.string(),
      expiresAt: isoTime,
      quorum: z.number().int().positive(),
      binding: sha256Hex,
      estimatedRows: z.number().nullable(),
      /** As `decision.estimateSalt`, beside an estimate asked for the approval (absent in records made before). */
      estimateSalt: z
        .string()
        .regex(/^[0-9a-f]{32}$/)
        .optional(),
    })
    .nullable(),
  approvals: z.array(approvalDecisionSchema),
  execution: z
    .object({
      startedAt: isoTime,
      finishedAt: isoTime.nullable(),
      durationMs: z.number().nonnegative().nullable(),
      rowCount: z.number().int().nonnegative().nullable(),
      truncated: z.boolean().nullable(),
    })
    .nullable(),
  result: z
    .object({
      columns: z.array(resultColumnSchema),
      rowCount: z.number().int().nonnegative(),
      truncated: z.boolean(),
      /** Inline results are returned in the response body; large ones through `resultUrl`. */
      delivery: z.enum(["inline", "url"]),
      object: z.object({
        key: z.string(),
        sha256: sha256Hex,
        size: z.number().int(),
        contentType: z.string(),
      }),
    })
    .nullable(),
  error: z.object({ code: z.string(), message: z.string(), status: z.number().int() }).nullable(),
});

/** A session record version. */
export type SessionRecord = z.infer<typeof sessionRecordSchema>;

/**
 * Whether the planner was asked for a decision: its row estimate (a risk rule) or its cost (a limit). Such a
 * decision is an answer about the tables' statistics: it is salted in the record and charged when not run.
 */
export function askedThePlanner(decision: {
  readonly estimatedRows?: number | null;
  readonly estimatedCost?: number;
}): boolean {
  return (decision.estimatedRows ?? null) !== null || decision.estimatedCost !== undefined;
}

/** The next version of a record moved to `status` at `at`, with the given fields changed. */
export function transition(
  record: SessionRecord,
  status: SessionStatus,
  at: Date,
  changes: Partial<Omit<SessionRecord, "schema" | "sessionId" | "version" | "status" | "transitions">> = {},
  note?: string,
): SessionRecord {
  const time = at.toISOString();
  const step = note === undefined ? { status, at: time } : { status, at: time, note };
  return {
    ...record,
    ...changes,
    version: record.version + 1,
    status,
    updatedAt: time,
    completedAt: TERMINAL_STATUSES.has(status) ? time : record.completedAt,
    transitions: [...record.transitions, step],
  };
}
