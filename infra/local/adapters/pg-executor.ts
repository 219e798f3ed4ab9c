// SqlExecutor over an existing PostgreSQL server (DATABASE_URL) with node-postgres; never writes to it.

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import Cursor from "pg-cursor";
import {
  MaskingFailedError,
  PhigateError,
  QueryFailedError,
  RateLimitedError,
  UnavailableError,
} from "#shared/errors.ts";
import type { Logger } from "#shared/log.ts";
import {
  type ExecuteRequest,
  type ExecuteSummary,
  OPAQUE_JOIN_SETTINGS,
  type RowSink,
  type SqlExecutor,
} from "#shared/ports.ts";
import { CATALOG_SQL, catalogFromRows } from "#shared/sql/catalog.ts";
import type { GenericStatement } from "#shared/sql/generic-statement.ts";
import {
  columnWeights,
  firstPageRows,
  handOnInRuns,
  MAX_ROW_CHARS,
  nextPageRows,
  PageBudget,
  pageRuns,
} from "#shared/sql/page-sizing.ts";
import {
  estimateSteps,
  type PlanFigure,
  parameterTypeError,
  planEstimate,
  withRetyping,
} from "#shared/sql/plan-estimate.ts";
import { QUIET_LOG_SETTINGS } from "#shared/sql/quiet-log-settings.ts";
import { queryFailure } from "#shared/sql/sqlstate.ts";
import type { Catalog, Row } from "#shared/sql/types.ts";
import { decodeRowsInPlace, SESSION_SETTINGS_OPTIONS, typeName } from "#shared/sql/values.ts";
import { guardMessageSizes, type OversizedMessage } from "./pg-frame-guard.ts";

/** Every value as PostgreSQL's text; decoding happens in one place (shared/sql/values.ts). */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** Options of the server executor. */
export interface PgExecutorOptions {
  readonly connectionString: string;
  readonly logger: Logger;
  readonly poolSize?: number;
  /**
   * Pooled connections one caller may hold at once, statements and planner estimates alike (default: half the
   * pool, at least one); the caller's further work waits for its own connections, so one caller cannot hold
   * the whole pool while another's light statement waits.
   */
  readonly maxConnectionsPerCaller?: number;
  /**
   * How long a caller's work may wait for one of its own connections before it is refused with 429 and
   * `Retry-After` (default 30 s, as the embedded executor's queue): a caller whose earlier statements hold all its
   * connections is told to come back, not kept waiting behind them without end (the thirtieth outside attack).
   */
  readonly maxSlotWaitMs?: number;
  /** How much of a caller's work may wait for its connections at once (beyond: 429 at once); default 256. */
  readonly maxQueuedPerCaller?: number;
  /** How long a cut connection is held without a word from the server ({@link END_BACKEND_GIVE_UP_MS} by default). */
  readonly endBackendGiveUpMs?: number;
}

/** Work waiting for one of its caller's connections. */
interface SlotWaiter {
  /** Whether its caller may take a slot the pool gives back (below its cap, and the rule on the last free one). */
  readonly mayTake: () => boolean;
  /** Hands the connection slot over (the waiter's timer is then cleared). */
  readonly grant: () => void;
}

/** A caller's held connections, when each holder's watchdog ends it at the latest, and the work waiting for one. */
interface CallerSlots {
  held: number;
  readonly deadlines: number[];
  readonly waiting: SlotWaiter[];
}

/** Past its timeout, the watchdog gives a statement this long before it destroys its connection. */
const WATCHDOG_GRACE_MS = 2_000;

/** Longest an answer waits for the server to end the process of a connection cut instead of reset. */
export const END_BACKEND_MS = 3_000;

/**
 * Longest a cut connection (and its caller's slot) is held while nothing can be learned of its process (the
 * server cannot be reached or queried); then it is given back, and an error logged. While the server still lists
 * the process, it is held however long that takes: a process that ignores its termination (a long computation,
 * such as `div()` on huge numerics, checks for interrupts only between steps, for as long as an hour and more:
 * the forty-seventh outside attack) keeps its place of the pool and its caller's slot, not one beyond them.
 */
export const END_BACKEND_GIVE_UP_MS = 120_000;

/** Each query of the connection that ends a process, and its connection, within this (a partition cannot hold it). */
const END_BACKEND_QUERY_MS = 1_000;

/** Closes a connection whatever state its peer is in: politely if it answers in time, else by its socket. */
async function drop(client: pg.Client): Promise<void> {
  await Promise.race([client.end().catch(() => undefined), sleep(END_BACKEND_QUERY_MS)]);
  (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}

/**
 * Ends the server process behind a connection the executor cut instead of resetting it, and resolves `true` once
 * the server lists no such process, or `false` after {@link END_BACKEND_GIVE_UP_MS} without a word from the
 * server (never while it still lists the process). Cutting the socket ends
 * nothing on the server: the process ran on until it next wrote or its statement timed out, holding whatever the
 * statement took (a session advisory lock) and a server process beyond the pool's size (the forty-fifth outside
 * attack). Ended from a connection of its own (the pool's may all be taken), with the pool's role: a role may end
 * its own backends. Every step is bounded, reconnecting after a failure; it never rejects, and gives up at once when
 * `stop` is aborted (the executor is closing).
 */
async function endBackend(
  connectionString: string,
  pid: number | null,
  stop: AbortSignal,
  giveUpMs = END_BACKEND_GIVE_UP_MS,
): Promise<boolean> {
  if (pid === null || !Number.isSafeInteger(pid) || pid <= 0) return false;
  // When the server last answered: only `giveUpMs` of silence, measured at a failed attempt, gives up.
  let heard = Date.now();
  let admin: pg.Client | undefined;
  let signalled = false;
  let pause = 10;
  try {
    while (!stop.aborted) {
      try {
        if (admin === undefined) {
          admin = new pg.Client({
            connectionString,
            connectionTimeoutMillis: END_BACKEND_QUERY_MS,
            query_timeout: END_BACKEND_QUERY_MS,
            statement_timeout: END_BACKEND_QUERY_MS,
            keepAlive: true,
            application_name: "phigate",
          });
          admin.on("error", () => undefined);
          await admin.connect();
        }
        // A process takes the signal at its next check for interrupts; it is not lost meanwhile.
        if (!signalled) {
          await admin.query("SELECT pg_catalog.pg_terminate_backend($1)", [pid]);
          signalled = true;
        }
        const listed = await admin.query("SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1", [pid]);
        if (listed.rowCount === 0) return true;
        heard = Date.now();
      } catch {
        const broken = admin;
        admin = undefined;
        if (broken !== undefined) await drop(broken);
        if (Date.now() - heard >= giveUpMs) return false;
      }
      await sleep(pause, undefined, { signal: stop }).catch(() => undefined);
      pause = Math.min(pause * 2, 500);
    }
    return false;
  } finally {
    if (admin !== undefined) await drop(admin);
  }
}

function sqlstateOf(error: unknown): string | null {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/** The probe: whether the role may set each quiet setting (`has_parameter_privilege`: PostgreSQL 15+), and its value. */
function quietProbeSql(grants: boolean): string {
  const names = QUIET_LOG_SETTINGS.map(([name]) => `'${name}'`).join(", ");
  return `SELECT s.name, s.setting,
  COALESCE((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), false)
    OR s.context = 'user'${grants ? " OR pg_catalog.has_parameter_privilege(s.name, 'SET')" : ""} AS settable
FROM pg_catalog.pg_settings s WHERE s.name IN (${names})`;
}

/** One page read through the cursor, with how many rows were asked for. */
interface Page {
  readonly rows: (string | null)[][];
  readonly fields: pg.FieldDef[];
  readonly want: number;
}

/**
 * Leaves nothing of a statement on its connection: its transaction rolled back (whether it ended well, failed or
 * was aborted), a fresh random seed, so an earlier `setseed` cannot make the next caller's `random()` predictable,
 * and `DISCARD ALL` (settings back to the connection's defaults, cursors, prepared statements, advisory locks,
 * temporary objects, LISTEN; it leaves the seed alone). False when the connection could not be reset (it is then
 * destroyed, not reused).
 */
async function resetSession(client: pg.PoolClient): Promise<boolean> {
  try {
    const seed = (randomBytes(4).readUInt32BE(0) / 0xffff_ffff) * 2 - 1;
    // One simple-query message for both (one round trip; the literal is this function's own number). `DISCARD ALL`
    // cannot run in the implicit transaction a message of several statements makes, so it goes on its own.
    await client.query(`ROLLBACK; SELECT pg_catalog.setseed(${seed.toFixed(15)})`);
    await client.query("DISCARD ALL");
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `send` with the connection's socket corked, so the protocol messages it writes leave in one write.
 * node-postgres corks a plain query's messages itself but not a cursor's (parse, bind, describe and flush are four
 * writes, each read two more, the close two), and each write is a system call here and a wake-up of the server.
 */
function corked<T>(client: pg.PoolClient, send: () => T): T {
  const socket = client.connection.stream;
  socket.cork();
  try {
    return send();
  } finally {
    socket.uncork();
  }
}

/** A page's values decoded; a value that cannot be (nested past the stack, say) fails masking, not the database. */
function decoded(page: (string | null)[][], oids: readonly number[]): Row[] {
  try {
    return decodeRowsInPlace(page, oids);
  } catch (error) {
    if (error instanceof PhigateError) throw error;
    throw new MaskingFailedError(
      "A value of the result could not be decoded for masking; nothing was returned.",
      {
        cause: error,
      },
    );
  }
}

/** What a statement whose connection was closed at an oversized message fails with. */
function oversizedFailure(message: OversizedMessage): QueryFailedError {
  if (message.type === "D")
    return new QueryFailedError(
      "row_too_large",
      `a result row is larger than the gateway takes (${MAX_ROW_CHARS / 1024} Ki characters); it was refused before it was read`,
    );
  return new QueryFailedError(
    "query_failed",
    "the statement failed, and the database's answer about it was larger than the gateway reads",
  );
}

function failure(error: unknown): Error {
  if (error instanceof PhigateError) return error;
  return queryFailure(sqlstateOf(error));
}

/**
 * Each statement runs on a pooled connection inside `BEGIN READ ONLY` with `SET LOCAL statement_timeout`, read
 * through a protocol-level cursor page by page; a client-side deadline destroys the connection should the
 * server not stop the statement itself.
 */
export class PgExecutor implements SqlExecutor {
  private readonly pool: pg.Pool;
  /** The quiet-log settings this role may apply (probed once; the rest are reported at start). */
  private quiet: Promise<readonly (readonly [string, string])[]> | undefined;
  private readonly callers = new Map<string, CallerSlots>();
  /** Connection slots held by every caller together. */
  private heldByCallers = 0;
  /** How to fail the work on each checked-out connection when the server sends a message past its bound. */
  private readonly oversized = new Map<pg.PoolClient, (error: Error) => void>();
  /** Aborted by `close`: ends of cut connections' server processes still being confirmed stop waiting. */
  private readonly closing = new AbortController();

  constructor(private readonly options: PgExecutorOptions) {
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      options: SESSION_SETTINGS_OPTIONS,
      connectionTimeoutMillis: 10_000,
      application_name: "phigate",
    });
    this.pool.on("error", () => options.logger.warn("an idle database connection failed"));
    // Every message's length is checked from its header, before node-postgres buffers it: a cell too large for a
    // string threw inside the socket's handler and ended the process (the forty-first outside attack).
    this.pool.on("connect", (client) => {
      // For the connection's whole life, checked out or not (pg-pool listens only while it is idle): the server
      // ending a backend under a statement (an operator's pg_terminate_backend, a failover) fails that statement,
      // which is answered and logged as such, where an unheard 'error' event ended the process (the forty-fifth
      // outside attack).
      client.on("error", () => undefined);
      const socket = client.connection.stream;
      guardMessageSizes(socket, (message) => {
        options.logger.warn("the database sent a message past its bound; closing its connection", {
          type: message.type,
          length: message.length,
        });
        // Its end is heard by the listener every connection has (above).
        socket.destroy();
        this.oversized.get(client)?.(oversizedFailure(message));
      });
    });
  }

  async execute(request: ExecuteRequest, sink: RowSink): Promise<ExecuteSummary> {
    const settings = request.opaqueJoins === true ? OPAQUE_JOIN_SETTINGS : [];
    const { value, settled } = await this.settling(
      request.timeoutMs,
      settings,
      request.caller,
      async (client) => {
        const started = performance.now();
        const cursor = corked(client, () =>
          client.query(new Cursor(request.sql, [...request.params], { rowMode: "array", types: TEXT_TYPES })),
        );
        // Set once the cursor reports an error: it has then sent its own Sync, and its `close` would wait for a
        // ReadyForQuery the client already consumed (pg-cursor 2.x), so it is not closed; the ROLLBACK ends it.
        let failed = false;
        // Each row is counted as it arrives; the first to pass a limit stops the reading at once (the connection is
        // closed, so the server sends nothing more) and fails the statement with the limit's error.
        let weights: number[] | undefined;
        let budget: PageBudget | undefined;
        let overLimit: Error | undefined;
        // The pending read's rejection: once the connection is closed under it, the cursor may never call back (a
        // result whose last row arrived with its end has already marked itself done), so the read is failed here.
        let failRead: ((error: Error) => void) | undefined;
        cursor.on("row", (row: (string | null)[], result: pg.QueryResult) => {
          if (overLimit !== undefined) return;
          weights ??= columnWeights(result.fields.map((f) => f.dataTypeID));
          budget ??= new PageBudget(weights);
          const error = budget.add(row);
          if (error === undefined) return;
          overLimit = error;
          failed = true;
          // The connection is thrown away (its end is heard by the listener every connection has).
          client.connection.stream.destroy();
          failRead?.(error);
        });
        const read = (want: number): Promise<Page> => {
          const page = new Promise<Page>((resolve, reject) => {
            failRead = reject;
            corked(client, () =>
              cursor.read(want, (error, rows, result) => {
                if (overLimit !== undefined) reject(overLimit);
                else if (error) {
                  failed = true;
                  reject(error);
                } else resolve({ rows, fields: result.fields, want });
              }),
            );
          });
          // A read still pending when the sink fails is abandoned with the cursor; its outcome must not go unhandled.
          page.catch(() => undefined);
          return page;
        };
        let rowCount = 0;
        let truncated = false;
        let oids: number[] | undefined;
        // One page is read ahead: the server produces page n + 1 while page n is masked and stored. Pages are sized by
        // their text too (shared/sql/page-sizing.ts): wide rows make small pages.
        let next: Promise<Page> | undefined = read(
          Math.min(firstPageRows(request.pageSize), request.maxRows + 1),
        );
        try {
          while (next !== undefined) {
            const { rows, fields, want } = await next;
            next = undefined;
            if (oids === undefined) {
              oids = fields.map((f) => f.dataTypeID);
              await sink.columns(
                fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID, type: typeName(f.dataTypeID) })),
              );
            }
            let page = rows;
            if (rowCount + page.length > request.maxRows) {
              page = page.slice(0, request.maxRows - rowCount);
              truncated = true;
            }
            const afterPage = rowCount + page.length;
            const chars = budget?.next() ?? 0;
            if (!truncated && rows.length === want) {
              const rowsNext = nextPageRows(request.pageSize, rows.length, chars);
              next = read(Math.min(rowsNext, request.maxRows - afterPage + 1));
            }
            // Decoded and handed on in runs of bounded text, the event loop running between them: a page of
            // structured values (JSON, arrays) decodes into many times its text.
            const types = oids; // the column types as set above, for the callback (a `let` is not narrowed there)
            if (page.length > 0)
              await handOnInRuns(pageRuns(page, chars, weights ?? []), (run) =>
                sink.rows(decoded(run, types)),
              );
            rowCount = afterPage;
          }
        } finally {
          if (!failed) await corked(client, () => cursor.close()).catch(() => undefined);
        }
        return { rowCount, truncated, durationMs: performance.now() - started };
      },
    );
    return { ...value, settled };
  }

  estimateRows(statement: GenericStatement, timeoutMs: number, caller?: string): Promise<number> {
    return this.plan(statement, timeoutMs, "Plan Rows", caller);
  }

  estimateCost(statement: GenericStatement, timeoutMs: number, caller?: string): Promise<number> {
    return this.plan(statement, timeoutMs, "Total Cost", caller);
  }

  /** The generic plan's figure; the prepared statement goes with the connection's `DISCARD ALL`. */
  private async plan(
    statement: GenericStatement,
    timeoutMs: number,
    figure: PlanFigure,
    caller: string | undefined,
  ): Promise<number> {
    return withRetyping(statement, (typed) => {
      const steps = estimateSteps(typed);
      return this.transaction(timeoutMs, steps.settings, caller, async (client) => {
        for (const sql of steps.before)
          await client.query(sql).catch((error: unknown) => {
            throw parameterTypeError(error) ?? error;
          });
        const result = await client.query({ text: steps.explain, types: TEXT_TYPES });
        return planEstimate((result.rows[0] as Record<string, string> | undefined)?.["QUERY PLAN"], figure);
      });
    });
  }

  async loadCatalog(): Promise<Catalog> {
    return this.transaction(30_000, [], undefined, async (client) => {
      const result = await client.query({ text: CATALOG_SQL, rowMode: "array", types: TEXT_TYPES });
      return catalogFromRows(result.rows as (string | null)[][]);
    });
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.pool.end();
  }

  /**
   * The quiet-log settings the role may set (probed on the first connection). Those it may not set and that the
   * server does not already keep quiet are named in a warning: the operator's part (docs/deploy.md).
   */
  private quietSettings(client: pg.PoolClient): Promise<readonly (readonly [string, string])[]> {
    this.quiet ??= (async () => {
      type Probe = { name: string; setting: string; settable: boolean };
      const result = await client
        .query<Probe>(quietProbeSql(true))
        .catch(() => client.query<Probe>(quietProbeSql(false)));
      const settable = new Set(result.rows.filter((r) => r.settable).map((r) => r.name));
      const current = new Map(result.rows.map((r) => [r.name, r.setting]));
      const loud = QUIET_LOG_SETTINGS.filter(
        ([name, value]) => !settable.has(name) && current.has(name) && current.get(name) !== value,
      ).map(([name]) => name);
      if (loud.length > 0)
        this.options.logger.warn(
          "the database role cannot keep values out of the PostgreSQL server log; see docs/deploy.md",
          { settings: loud.join(", ") },
        );
      return QUIET_LOG_SETTINGS.filter(([name]) => settable.has(name));
    })().catch((error: unknown) => {
      this.quiet = undefined;
      throw error;
    });
    return this.quiet;
  }

  /**
   * Waits for one of `caller`'s connection slots, at most `maxSlotWaitMs` (then, or with too much already waiting,
   * 429 with `Retry-After`: when the first of its running statements is ended at the latest); resolves to its
   * release. The slot is held for work of at most `timeoutMs`.
   */
  private async slot(caller: string | undefined, timeoutMs: number): Promise<() => void> {
    if (caller === undefined || caller === "") return () => undefined;
    const cap =
      this.options.maxConnectionsPerCaller ?? Math.max(1, Math.floor((this.options.poolSize ?? 10) / 2));
    let slots = this.callers.get(caller);
    if (slots === undefined) {
      slots = { held: 0, deadlines: [], waiting: [] };
      this.callers.set(caller, slots);
    }
    const mine = slots;
    const pool = this.options.poolSize ?? 10;
    // A caller already holding a connection never takes the pool's last free one: it is kept for a caller holding
    // none, so callers at their caps together cannot make a newcomer's statement wait for theirs (the forty-first
    // outside attack: two principals, five 10 s statements each, and a third's `SELECT 1` waited ~10 s, then 503).
    const mayTake = (): boolean => mine.held < cap && (mine.held === 0 || this.heldByCallers < pool - 1);
    const busy = (why: string): RateLimitedError => {
      // Empty only while a slot is being handed over: its new holder's statement ends a timeout from now.
      const first = mine.deadlines.length > 0 ? Math.min(...mine.deadlines) : Date.now() + timeoutMs;
      const retryAfterSeconds = Math.max(1, Math.ceil((first - Date.now()) / 1000));
      return new RateLimitedError(
        `this caller's statements hold all ${cap} of its database connections and ${why}; retry later`,
        { details: { retryAfterSeconds } },
      );
    };
    if (mayTake()) {
      mine.held++;
      this.heldByCallers++;
    } else {
      const maxQueued = this.options.maxQueuedPerCaller ?? 256;
      if (mine.waiting.length >= maxQueued) throw busy(`${mine.waiting.length} more of its statements wait`);
      const waitMs = this.options.maxSlotWaitMs ?? 30_000;
      await new Promise<void>((resolve, reject) => {
        const waiter: SlotWaiter = {
          mayTake,
          grant: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          // Still waiting (a granted waiter has left the queue and cleared this timer): it leaves the queue.
          const at = mine.waiting.indexOf(waiter);
          if (at >= 0) mine.waiting.splice(at, 1);
          reject(busy(`this statement waited ${waitMs} ms for one`));
        }, waitMs);
        mine.waiting.push(waiter);
      });
    }
    const deadline = Date.now() + timeoutMs + WATCHDOG_GRACE_MS;
    mine.deadlines.push(deadline);
    return () => {
      mine.deadlines.splice(mine.deadlines.indexOf(deadline), 1);
      const next = mine.waiting.shift();
      // The slot passes to the caller's next waiting work, or is given back.
      if (next !== undefined) next.grant();
      else {
        this.heldByCallers--;
        if (--mine.held === 0) this.callers.delete(caller);
        this.grantWaiting();
      }
    };
  }

  /**
   * After a slot is given back: work that waited only because the last free connection is kept for newcomers (its
   * caller below its cap) takes it now if it may, oldest caller first.
   */
  private grantWaiting(): void {
    for (const slots of this.callers.values()) {
      const next = slots.waiting[0];
      if (next === undefined || !next.mayTake()) continue;
      slots.waiting.shift();
      slots.held++;
      this.heldByCallers++;
      next.grant();
    }
  }

  /** Runs `work` in a transaction and answers once its connection is reset and given back. */
  private async transaction<T>(
    timeoutMs: number,
    settings: readonly (readonly [string, string])[],
    caller: string | undefined,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    const { value, settled } = await this.settling(timeoutMs, settings, caller, work);
    await settled;
    return value;
  }

  /**
   * Runs `work` in a transaction and answers as soon as it succeeds, with `settled`: the reset of its connection
   * (see {@link pooled}); it rejects when the connection had to be cut and the end of its server process could not
   * be confirmed in time. A failure answers only once the reset is done. The caller's slot is given back with the
   * connection.
   */
  private async settling<T>(
    timeoutMs: number,
    settings: readonly (readonly [string, string])[],
    caller: string | undefined,
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<{ value: T; settled: Promise<void> }> {
    const release = await this.slot(caller, timeoutMs);
    const run = await this.pooled(timeoutMs, settings, work, release);
    // Awaited by whoever answers; a caller that never does must not turn a rejection into the process's end.
    run.settled.catch(() => undefined);
    return run;
  }

  private async pooled<T>(
    timeoutMs: number,
    settings: readonly (readonly [string, string])[],
    work: (client: pg.PoolClient) => Promise<T>,
    freeSlot: () => void,
  ): Promise<{ value: T; settled: Promise<void> }> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      freeSlot();
      throw new UnavailableError("database_unavailable", "the database is unavailable", { cause: error });
    }
    let destroyed = false;
    let released = false;
    // The connection goes back to the pool once, reset or cut (then only once its server process is gone), and the
    // caller's slot with it; the watchdog stays armed until then or until the connection is cut.
    const release = (error?: Error): void => {
      if (released) return;
      released = true;
      clearTimeout(watchdog);
      client.release(error);
      freeSlot();
    };
    let deadline: (error: Error) => void = () => undefined;
    // Whatever the work awaits, the statement's answer does not outlive the watchdog: a driver promise that never
    // settles (pg-cursor's close after some failures) cannot hold the request, or the caller's slot, forever.
    const outlived = new Promise<never>((_, reject) => {
      deadline = reject;
    });
    outlived.catch(() => undefined);
    const refused = new Promise<never>((_, reject) => {
      this.oversized.set(client, reject);
    });
    refused.catch(() => undefined);
    const cutSocket = (): void => {
      client.connection.stream.destroy();
    };
    const watchdog = setTimeout(() => {
      destroyed = true;
      this.options.logger.warn("statement outlived its timeout; closing its connection", { timeoutMs });
      cutSocket();
      deadline(queryFailure("57014"));
    }, timeoutMs + WATCHDOG_GRACE_MS);
    // The next caller gets the connection as a new one, and only once this statement's transaction is rolled back
    // and its session reset; the answer waits for it too, so nothing a statement set lives on anywhere after its
    // answer. A connection that cannot be reset, or was cut (the watchdog, a row or message past its bound), has its
    // server process ended (`endBackend`): the answer waits for that up to END_BACKEND_MS and fails closed past it,
    // and the connection and the caller's slot are held until the process is gone.
    const pid = (client as unknown as { processID: number | null }).processID;
    const reset = async (): Promise<void> => {
      this.oversized.delete(client);
      if (!destroyed && (await resetSession(client)) && !destroyed) {
        release();
        return;
      }
      destroyed = true;
      clearTimeout(watchdog);
      cutSocket();
      const gone = endBackend(
        this.options.connectionString,
        pid,
        this.closing.signal,
        this.options.endBackendGiveUpMs,
      ).then((ended) => {
        if (!ended)
          this.options.logger.error(
            "the server said nothing of a cut connection's server process for too long; giving it back",
          );
        release(new Error("the connection was cut"));
        return ended;
      });
      const inTime = await Promise.race([gone, sleep(END_BACKEND_MS).then(() => false)]);
      if (!inTime) {
        this.options.logger.error("could not confirm the end of a cut connection's server process; failing");
        throw new UnavailableError("database_unavailable", "the database is unavailable");
      }
    };
    let value: T;
    try {
      const quiet = await this.quietSettings(client);
      // One simple-query message, one round trip: every name and value here is the executor's own constant.
      await client.query(
        [
          "BEGIN READ ONLY",
          ...quiet.map(([name, value]) => `SET LOCAL ${name} = '${value}'`),
          `SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`,
          ...settings.map(([name, value]) => `SET LOCAL ${name} = ${value}`),
        ].join("; "),
      );
      value = await Promise.race([work(client), outlived, refused]);
    } catch (error) {
      const thrown = destroyed ? queryFailure("57014") : failure(error);
      await reset();
      throw thrown;
    }
    // The work is done: its caller may store the result while the connection is reset (two round trips), as long
    // as nothing about the statement is answered before `settled` (ExecuteSummary.settled).
    return { value, settled: reset() };
  }
}
