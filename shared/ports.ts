// The ports: what the core needs from the outside world, implemented by infra/local/adapters and infra/aws/adapters.

import type {
  ApprovalDecisionEntry,
  ApprovalState,
  ApprovalStatus,
} from "#shared/approval/approval-request.ts";
import type { ApprovalNotice } from "#shared/approval/notice.ts";
import type {
  ChainRecord,
  PolicyChangeRecord,
  PolicyChanger,
  PolicyRef,
} from "#shared/sessions/policy-change.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import type { GenericStatement } from "#shared/sql/generic-statement.ts";
import type { AnalyzedStatement } from "#shared/sql/statement-analyzer.ts";
import type { Catalog, ResultColumn, Row } from "#shared/sql/types.ts";

/** A bound statement parameter (never interpolated into SQL text). */
export type SqlParam = string | number | boolean | null | readonly (string | number | boolean | null)[];

/** One statement to execute read-only. */
export interface ExecuteRequest {
  readonly sql: string;
  readonly params: readonly SqlParam[];
  /** The statement's time limit, enforced by the executor whatever the database does. */
  readonly timeoutMs: number;
  /** At most this many rows are delivered; `truncated` tells whether more existed. */
  readonly maxRows: number;
  /** Most rows per page handed to the sink; an executor that reads its own pages sizes them by their text too. */
  readonly pageSize: number;
  /**
   * The statement joins rows on protected values: the executor turns hash and merge joins off
   * ({@link OPAQUE_JOIN_SETTINGS}), so the order rows come out in cannot follow those values (a hash bucket, a sort).
   */
  readonly opaqueJoins?: boolean;
  /** Who asks (its admission key: the policy principal entry it matched): an executor that shares one connection serves callers in turn. */
  readonly caller?: string;
}

/** Planner settings for a statement that joins on protected values (transaction-local). */
export const OPAQUE_JOIN_SETTINGS: readonly (readonly [string, string])[] = [
  ["enable_hashjoin", "off"],
  ["enable_mergejoin", "off"],
];

/** Receives a result as it is read: columns first, then pages of rows, in order. */
export interface RowSink {
  columns(columns: readonly ResultColumn[]): void | Promise<void>;
  rows(page: readonly Row[]): void | Promise<void>;
}

/** What an execution produced besides its rows. */
export interface ExecuteSummary {
  readonly rowCount: number;
  readonly truncated: boolean;
  readonly durationMs: number;
  /**
   * When given, the statement's rows are all handed on but its connection is still being reset (its transaction
   * rolled back, its session discarded): the caller may store the result meanwhile, and must await this before
   * anything about the statement is answered. It rejects (`UnavailableError`) when nothing can be said of what
   * the statement left behind (its connection destroyed and the end of its server process not confirmed): the
   * statement is then not answered as a success. Absent, the connection was reset before `execute` resolved.
   */
  readonly settled?: Promise<void>;
}

/**
 * Runs statements against PostgreSQL, always inside a read-only transaction with a statement timeout and a
 * row cap, whatever the classifier said. Failures are `QueryFailedError` (SQLSTATE only) or
 * `UnavailableError("database_unavailable")`.
 */
export interface SqlExecutor {
  execute(request: ExecuteRequest, sink: RowSink): Promise<ExecuteSummary>;
  /**
   * The planner's row estimate for a statement's generic plan (`estimateSteps`: EXPLAIN, never ANALYZE), read-only:
   * the planner knows none of its values. `caller` (the admission key) is who asks: planning can be as costly as
   * running, so an executor that serves callers in turn counts estimates in the caller's turns and caps as it does
   * statements.
   */
  estimateRows(statement: GenericStatement, timeoutMs: number, caller?: string): Promise<number>;
  /** The planner's total cost for a statement's generic plan, read-only; `caller` as for estimateRows. */
  estimateCost?(statement: GenericStatement, timeoutMs: number, caller?: string): Promise<number>;
  /** A snapshot of the catalog (see shared/sql/catalog.ts for the query). */
  loadCatalog(): Promise<Catalog>;
  close(): Promise<void>;
}

/**
 * Parses and classifies statements against the current catalog (`createStatementAnalyzer` of
 * shared/sql/statement-analyzer.ts, over the executor's catalog, on both hosts).
 */
export interface StatementAnalyzer {
  analyze(sql: string): Promise<AnalyzedStatement>;
  /** The catalog analyses are made against now (cached, on the analyzer's TTL; what `GET /v1/catalog` describes). */
  catalog(): Promise<Catalog>;
}

/** Scopes an idempotency key to the principal that sent it. */
export interface IdempotencyRef {
  readonly scope: string;
  readonly key: string;
}

/** One link of the tamper-evident chain: a stored version of a session record, or a policy change. */
export interface ChainEntry<R extends ChainRecord = ChainRecord> {
  /** Position in the chain, from 1, without gaps. */
  readonly seq: number;
  /** UTC day (`YYYY-MM-DD`) the entry was recorded on: the chain's storage partition. */
  readonly day: string;
  readonly recordedAt: string;
  /** Digest of the previous entry (the genesis value for the first). */
  readonly prev: string;
  /** SHA-256 over the canonical JSON of every other field of the entry. */
  readonly digest: string;
  readonly record: R;
}

/** A chain entry holding a version of a session record. */
export type SessionEntry = ChainEntry<SessionRecord>;

/**
 * Durable session records. Every write appends a new version of a record as a chain entry; a write
 * returns only after it is durable. Unavailability is `UnavailableError("store_unavailable")`. A write stores the
 * record as given (its builders make exactly the schema's shape, so it is not re-validated); every read of stored
 * bytes is validated against `sessionRecordSchema`.
 */
export interface SessionStore {
  /**
   * Stores version 1 of a new record. With `idempotency`, a second create under the same scope and key
   * stores nothing and returns the existing record with `created: false`.
   */
  create(
    record: SessionRecord,
    idempotency?: IdempotencyRef,
  ): Promise<{ created: boolean; record: SessionRecord }>;
  /** Stores the next version; fails with `VersionConflictError` unless `record.version` is the stored one + 1. */
  update(record: SessionRecord): Promise<SessionRecord>;
  get(sessionId: string): Promise<SessionRecord | undefined>;
  /** Every chain entry recorded on the given UTC days, in chain order (session versions and policy changes). */
  entries(fromDay: string, toDay: string): AsyncIterable<ChainEntry>;
  /**
   * Records that the host enforces `policy` from now on: appends a policy-change entry (who, the policy before and
   * this one) unless the last one the chain records already names this digest. Returns the record appended, or
   * undefined when nothing changed. With `archived`, nothing is appended before it settles, and nothing at all if it
   * fails: the chain never names a policy whose text is not archived (reading what the chain records may overlap it).
   */
  recordPolicy(
    policy: PolicyRef,
    by: PolicyChanger,
    archived?: Promise<unknown>,
  ): Promise<PolicyChangeRecord | undefined>;
}

/** Where a stored object is, and what it is. */
export interface StoredObject {
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  readonly contentType: string;
}

/** Immutable object storage for masked results, replays and evidence. Objects are never overwritten. */
export interface ObjectStore {
  put(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, contentType: string): Promise<StoredObject>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** A short-lived link from which the caller can download the object without a token. */
  readUrl(key: string, ttlSeconds: number): Promise<string>;
}

/** The signature scheme of evidence manifests on every host: ECDSA over P-256 with SHA-256, DER-encoded. */
export const SIGNATURE_ALGORITHM = "ECDSA_P256_SHA256";

/** The public half of a signing key, as an auditor checks it. */
export interface SignerPublicKey {
  readonly algorithm: typeof SIGNATURE_ALGORITHM;
  /** SubjectPublicKeyInfo, PEM-encoded (`-----BEGIN PUBLIC KEY-----`). */
  readonly pem: string;
  /** SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex: what `verify-evidence --trusted-key` compares. */
  readonly fingerprint: string;
}

/**
 * Signs evidence. `signDigest` receives the 32-byte SHA-256 digest of the signed bytes (never the bytes) and
 * returns an ECDSA P-256 signature in DER, so a signature verifies as ECDSA-SHA256 over the original bytes
 * (AWS: KMS `Sign` with an `ECC_NIST_P256` key, `MessageType: DIGEST`, `ECDSA_SHA_256`). Unavailability is
 * `UnavailableError("signer_unavailable")`.
 */
export interface Signer {
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
  publicKey(): Promise<SignerPublicKey>;
}

/** One file of an evidence bundle as written. */
export interface WrittenFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

/**
 * Receives the files of one evidence bundle. Nothing is visible under the bundle's final location until
 * `seal` succeeds; `discard` removes a bundle that will not be sealed.
 */
export interface BundleSink {
  /** Writes one file (a relative path such as `policies/<digest>.yaml`); each path is written once. */
  write(path: string, body: Uint8Array | AsyncIterable<Uint8Array>): Promise<WrittenFile>;
  /** Makes the bundle visible and immutable; returns its location (a local path, an `s3://` URI). */
  seal(): Promise<string>;
  discard(): Promise<void>;
}

/** Where evidence bundles are kept (a directory locally; an S3 prefix with Object Lock on AWS). */
export interface EvidenceStore {
  /** Starts a new bundle; `ConflictError` if the id exists. */
  open(bundleId: string): Promise<BundleSink>;
}

/**
 * Content-addressed archive of every policy text the gateway has enforced, so evidence can cite old digests.
 * The key is the SHA-256 of the exact bytes.
 */
export interface PolicyArchive {
  /** Stores the text (idempotent); returns its digest. */
  put(text: string): Promise<string>;
  /** The exact text with this digest, or undefined. */
  get(digest: string): Promise<string | undefined>;
}

/**
 * Write-once archive of every catalog snapshot the gateway analyzed statements against, named by its version
 * (`Catalog.version`), so evidence can re-analyze recorded statements offline. The bytes are the snapshot's
 * canonical JSON (`shared/sql/catalog-snapshot.ts`); sessions record their SHA-256.
 */
export interface CatalogArchive {
  /** Stores the snapshot under `version` (a second put of one version is a no-op). */
  put(version: string, bytes: Uint8Array): Promise<void>;
  /** The archived bytes of `version`, or undefined. */
  get(version: string): Promise<Uint8Array | undefined>;
}

/** Secret keys the core needs, by purpose; generated and kept outside the repository. */
export interface KeyProvider {
  /** A 32-byte key for the given purpose (stable across restarts). */
  key(purpose: "tokenization" | "parameter-digest" | "result-link" | "approver-session"): Promise<Uint8Array>;
}

/**
 * Durable approval requests (one item per approval id) with conditional writes: a decision is appended once per
 * approver and only while the request is pending; a status moves once. Failed conditions are `ConflictError`s
 * (`already_decided`, `version_conflict`, `status_conflict`); unavailability is `UnavailableError("store_unavailable")`.
 */
export interface ApprovalStore {
  /** Stores a new request; `ConflictError("approval_exists")` when the id is taken. */
  create(state: ApprovalState): Promise<void>;
  get(approvalId: string): Promise<ApprovalState | undefined>;
  /**
   * Appends one approver's decision and sets the resulting status in one conditional write: only while the stored
   * version is `expectedVersion`, the status is `pending`, `at` is before the expiry (else `GoneError("expired")`),
   * and this approver has not decided.
   */
  appendDecision(
    approvalId: string,
    change: {
      readonly expectedVersion: number;
      readonly decision: ApprovalDecisionEntry;
      readonly status: ApprovalStatus;
      readonly at: Date;
    },
  ): Promise<ApprovalState>;
  /** Moves the status from one of `from` to `to` (once); `ConflictError("status_conflict")` otherwise. */
  transition(
    approvalId: string,
    from: readonly ApprovalStatus[],
    to: ApprovalStatus,
    at: Date,
  ): Promise<ApprovalState>;
  /** Records the workflow's current task token (replacing an older one) and, optionally, that approvers were notified. */
  setTask(
    approvalId: string,
    change: { readonly taskToken: string; readonly notifiedAt?: Date; readonly at: Date },
  ): Promise<ApprovalState>;
  /**
   * Marks the request closed (its session reached its outcome) and erases the raw parameters, which are no longer
   * needed (the record keeps their keyed digests). Idempotent.
   */
  close(approvalId: string, at: Date): Promise<ApprovalState>;
  /** Requests not closed yet (for heartbeats and reconciliation). */
  listOpen(): Promise<ApprovalState[]>;
}

/** What a decision sends to the waiting workflow (`SendTaskSuccess` output). */
export interface DecisionOutput {
  readonly outcome: "approved" | "denied" | "expired";
}

/**
 * The approval workflow engine (Step Functions on AWS, the in-process runner locally), addressed by the opaque
 * task tokens it hands its callback tasks. Token failures (unknown, timed out, already completed) are
 * `ConflictError("task_not_open")`; unavailability is `UnavailableError("workflow_unavailable")`.
 */
export interface ApprovalWorkflow {
  /** Starts the workflow for one approval; idempotent per approval id. */
  start(input: { readonly approvalId: string; readonly sessionId: string }): Promise<void>;
  sendTaskSuccess(taskToken: string, output: DecisionOutput): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
  /** Tells the waiting task its token holder is alive (resets its heartbeat clock). */
  sendTaskHeartbeat(taskToken: string): Promise<void>;
}

/** Tells approvers that a request waits for them: an opaque link, never a token, credential, SQL text or PHI. */
export interface Notifier {
  notify(notice: ApprovalNotice): Promise<void>;
}

/** PHI rows one completed session returned to a caller, by the PHI tables whose columns they carried. */
export interface LedgerReads {
  /** The caller's admission key (its policy principal entry; `shared/policy/admission-key.ts`). */
  readonly principal: string;
  /** `schema.table` of every PHI table with a column in the result (`decision.phiTables`, masked columns' tables). */
  readonly tables: readonly string[];
  /** Result rows. */
  readonly rows: number;
  /**
   * The PHI rows each result row took from a table, where more than one (its occurrences behind the result);
   * a table not named counts `rows` once. Each table adds `rows × weight` (`ledgerRowsOf`).
   */
  readonly weights?: Readonly<Record<string, number>>;
  readonly at: Date;
}

/**
 * The PHI rows each caller took per table over time, unapproved: what the risk rules' window counts
 * (`shared/sessions/read-ledger.ts`). Kept in time buckets of {@link READ_BUCKET_SECONDS}; a count since a time
 * includes the whole bucket that time falls in (it may count a little more, never less). Unavailability is
 * `UnavailableError("store_unavailable")`.
 */
export interface ReadLedger {
  /** Adds a completed session's rows (before its result is released). */
  add(reads: LedgerReads): Promise<void>;
  /** The rows added for `principal` and `table` in the buckets from the one holding `since` on. */
  rowsSince(principal: string, table: string, since: Date): Promise<number>;
}

/** The read ledger's time bucket, seconds. */
export const READ_BUCKET_SECONDS = 300;

/**
 * A caller's turn: a caller's statements let through on its window are decided again, run and recorded one at a
 * time, so parallel slices see each other's rows (docs/policy.md, "Concurrent slices"); other callers are not held.
 * A turn not had in time is `RateLimitedError` (429, `retryAfterSeconds`); an unreachable store is
 * `UnavailableError("store_unavailable")`.
 */
export interface CallerTurns {
  /** Runs `task` in `principal`'s turn; `budgetMs` is the statement's time budget (what the task must still fit). */
  run<T>(principal: string, budgetMs: number, task: () => Promise<T>): Promise<T>;
}

/** Time, injectable for tests. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };
