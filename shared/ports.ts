// The ports: what the core needs from the outside world, implemented by adapters/local and adapters/aws.

import type { SessionRecord } from "#shared/sessions/record.ts";
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
  /** Rows per page handed to the sink. */
  readonly pageSize: number;
}

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
}

/**
 * Runs statements against PostgreSQL, always inside a read-only transaction with a statement timeout and a
 * row cap, whatever the classifier said. Failures are `QueryFailedError` (SQLSTATE only) or
 * `UnavailableError("database_unavailable")`.
 */
export interface SqlExecutor {
  execute(request: ExecuteRequest, sink: RowSink): Promise<ExecuteSummary>;
  /** The planner's row estimate for a statement (EXPLAIN, never ANALYZE), read-only. */
  estimateRows(sql: string, params: readonly SqlParam[], timeoutMs: number): Promise<number>;
  /** A snapshot of the catalog (see shared/sql/catalog.ts for the query). */
  loadCatalog(): Promise<Catalog>;
  close(): Promise<void>;
}

/** Scopes an idempotency key to the principal that sent it. */
export interface IdempotencyRef {
  readonly scope: string;
  readonly key: string;
}

/** One link of the tamper-evident chain: a stored version of a session record. */
export interface ChainEntry {
  /** Position in the chain, from 1, without gaps. */
  readonly seq: number;
  /** UTC day (`YYYY-MM-DD`) the entry was recorded on: the chain's storage partition. */
  readonly day: string;
  readonly recordedAt: string;
  /** Digest of the previous entry (the genesis value for the first). */
  readonly prev: string;
  /** SHA-256 over the canonical JSON of every other field of the entry. */
  readonly digest: string;
  readonly record: SessionRecord;
}

/**
 * Durable session records. Every write appends a new version of a record as a chain entry; a write
 * returns only after it is durable. Unavailability is `UnavailableError("store_unavailable")`.
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
  /** Stores the next version; fails with `ConflictError("version_conflict")` unless `record.version` is the stored one + 1. */
  update(record: SessionRecord): Promise<SessionRecord>;
  get(sessionId: string): Promise<SessionRecord | undefined>;
  /** Every chain entry recorded on the given UTC days, in chain order. */
  entries(fromDay: string, toDay: string): AsyncIterable<ChainEntry>;
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

/** Secret keys the core needs, by purpose; generated and kept outside the repository. */
export interface KeyProvider {
  /** A 32-byte key for the given purpose (stable across restarts). */
  key(purpose: "tokenization" | "parameter-digest" | "result-link"): Promise<Uint8Array>;
}

/** Time, injectable for tests. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };
