// SqlExecutor over embedded PGlite in a worker thread; the statement timeout is enforced by ending the worker.

import { chmod, mkdir } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import {
  type FromWorker,
  type ToWorker,
  toWorkerParams,
  type WorkerField,
} from "#infra/local/adapters/pglite-protocol.ts";
import { QueryFailedError, UnavailableError } from "#shared/errors.ts";
import type { Logger } from "#shared/log.ts";
import type { ExecuteRequest, ExecuteSummary, RowSink, SqlExecutor, SqlParam } from "#shared/ports.ts";
import { CATALOG_SQL, catalogFromRows } from "#shared/sql/catalog.ts";
import { queryFailure } from "#shared/sql/sqlstate.ts";
import type { Catalog, ResultColumn, Row } from "#shared/sql/types.ts";
import { decodeValue, typeName } from "#shared/sql/values.ts";

type Handler = (message: FromWorker) => void;

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError("database_unavailable", message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Options of the embedded executor. */
export interface PgliteExecutorOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** How long a statement may wait for the worker before the request fails with 503. */
  readonly queueTimeoutMs?: number;
}

/** Results of an administrative (read-write) query, as text. */
export interface AdminResult {
  readonly fields: readonly WorkerField[];
  readonly rows: readonly (string | null)[][];
}

/**
 * The embedded default: PGlite runs in a worker thread, one statement at a time (PGlite is a single
 * connection). Since PGlite accepts but does not enforce `statement_timeout`, a statement that outlives its
 * limit is stopped by terminating the worker, which is then restarted on the same data directory.
 */
export class PgliteExecutor implements SqlExecutor {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private nextId = 1;
  private readonly handlers = new Map<number, Handler>();
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly options: PgliteExecutorOptions) {}

  /** Starts the worker and waits until the database is open. */
  static async start(options: PgliteExecutorOptions): Promise<PgliteExecutor> {
    const executor = new PgliteExecutor(options);
    // PGlite would create its folder with default permissions (0755, files world-readable): owner only instead.
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    await chmod(options.dataDir, 0o700);
    await executor.spawn();
    return executor;
  }

  execute(request: ExecuteRequest, sink: RowSink): Promise<ExecuteSummary> {
    return this.serialized(request.timeoutMs, (id, post, onMessage) => {
      const started = performance.now();
      let columns: WorkerField[] = [];
      let pending: Promise<void> = Promise.resolve();
      return new Promise<ExecuteSummary>((resolve, reject) => {
        const fail = (error: unknown): void => reject(error);
        onMessage((message) => {
          try {
            if (message.type === "columns") {
              columns = message.fields;
              const meta: ResultColumn[] = columns.map((f) => ({
                name: f.name,
                typeOid: f.typeOid,
                type: typeName(f.typeOid),
              }));
              pending = pending.then(() => sink.columns(meta));
            } else if (message.type === "rows") {
              const rows: Row[] = message.rows.map((r) =>
                r.map((text, i) => decodeValue(columns[i]?.typeOid ?? 25, text)),
              );
              pending = pending.then(async () => {
                await sink.rows(rows);
                post({ type: "ack", id });
              });
            } else if (message.type === "done") {
              const { rowCount, truncated } = message;
              pending = pending.then(() =>
                resolve({ rowCount, truncated, durationMs: performance.now() - started }),
              );
            } else if (message.type === "failed") {
              const error = queryFailure(message.sqlstate);
              pending = pending.then(() => fail(error));
            }
            pending = pending.catch((error: unknown) => {
              fail(error);
              this.restart();
            });
          } catch (error) {
            fail(error);
            this.restart();
          }
        });
        post({
          type: "execute",
          id,
          sql: request.sql,
          params: toWorkerParams(request.params),
          maxRows: request.maxRows,
          pageSize: request.pageSize,
          ...(request.opaqueJoins === true
            ? {
                settings: [
                  ["enable_hashjoin", "off"],
                  ["enable_mergejoin", "off"],
                ],
              }
            : {}),
        });
      });
    });
  }

  async estimateRows(sql: string, params: readonly SqlParam[], timeoutMs: number): Promise<number> {
    const result = await this.run("query", `EXPLAIN (FORMAT JSON) ${sql}`, params, timeoutMs);
    const text = result.rows[0]?.[0];
    const plan =
      text === undefined || text === null
        ? undefined
        : (JSON.parse(text) as { Plan?: { "Plan Rows"?: number } }[]);
    const rows = plan?.[0]?.Plan?.["Plan Rows"];
    if (typeof rows !== "number")
      throw new QueryFailedError("query_failed", "the planner returned no estimate");
    return rows;
  }

  async loadCatalog(): Promise<Catalog> {
    const result = await this.run("query", CATALOG_SQL, [], 30_000);
    return catalogFromRows(result.rows);
  }

  /** Runs a read-write administrative statement (seeding only; never reachable from a request). */
  admin(sql: string, params: readonly SqlParam[] = [], timeoutMs = 600_000): Promise<AdminResult> {
    return this.run("admin", sql, params, timeoutMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail.catch(() => undefined);
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private run(
    type: "query" | "admin",
    sql: string,
    params: readonly SqlParam[],
    timeoutMs: number,
  ): Promise<AdminResult> {
    return this.serialized(timeoutMs, (id, post, onMessage) => {
      return new Promise<AdminResult>((resolve, reject) => {
        onMessage((message) => {
          if (message.type === "result") resolve({ fields: message.fields, rows: message.rows });
          else if (message.type === "failed") reject(queryFailure(message.sqlstate));
        });
        post({ type, id, sql, params: toWorkerParams(params) });
      });
    });
  }

  /** Runs one job at a time on the worker, with a deadline that restarts the worker when exceeded. */
  private serialized<T>(
    timeoutMs: number,
    job: (id: number, post: (message: ToWorker) => void, onMessage: (handler: Handler) => void) => Promise<T>,
  ): Promise<T> {
    if (this.closed)
      return Promise.reject(new UnavailableError("database_unavailable", "the database is closed"));
    const queueTimeoutMs = this.options.queueTimeoutMs ?? 30_000;
    const enqueued = performance.now();
    const result = this.tail.then(async () => {
      if (performance.now() - enqueued > queueTimeoutMs) {
        throw new UnavailableError("database_unavailable", "the database is busy; try again");
      }
      await withTimeout(this.ensureReady(), 120_000, "the database did not start in time");
      const worker = this.worker;
      if (worker === undefined)
        throw new UnavailableError("database_unavailable", "the database is unavailable");
      const id = this.nextId++;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          this.options.logger.warn("statement exceeded its timeout; restarting the database worker", {
            timeoutMs,
          });
          this.restart();
          reject(
            new QueryFailedError(
              "statement_timeout",
              `the statement ran longer than its ${timeoutMs} ms limit`,
            ),
          );
        }, timeoutMs);
      });
      let onExit: (() => void) | undefined;
      const exited = new Promise<never>((_, reject) => {
        onExit = () => reject(new UnavailableError("database_unavailable", "the database worker stopped"));
        worker.once("exit", onExit);
      });
      try {
        return await Promise.race([
          job(
            id,
            (m) => worker.postMessage(m),
            (h) => this.handlers.set(id, h),
          ),
          deadline,
          exited,
        ]);
      } finally {
        clearTimeout(timer);
        if (onExit !== undefined) worker.off("exit", onExit);
        this.handlers.delete(id);
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  private restart(): void {
    const old = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    void old?.terminate();
  }

  private ensureReady(): Promise<void> {
    if (this.worker === undefined || this.ready === undefined) return this.spawn();
    return this.ready;
  }

  private spawn(): Promise<void> {
    const worker = new Worker(new URL("./pglite-worker-boot.mjs", import.meta.url), {
      workerData: {
        entry: new URL("./pglite-worker.ts", import.meta.url).href,
        dataDir: this.options.dataDir,
      },
    });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      const onError = (error: unknown): void => {
        this.options.logger.error("database worker failed");
        if (this.worker === worker) this.restart();
        reject(
          new UnavailableError("database_unavailable", "the database could not be opened", { cause: error }),
        );
      };
      worker.once("error", onError);
      worker.once("exit", () => {
        if (this.worker === worker) {
          this.worker = undefined;
          this.ready = undefined;
        }
      });
      worker.on("message", (message: FromWorker) => {
        if (message.type === "ready") {
          this.options.logger.info("embedded database ready", { startMs: message.startMs });
          resolve();
        } else if (message.type === "fatal") {
          this.options.logger.error("database worker reported a protocol error");
        } else {
          this.handlers.get(message.id)?.(message);
        }
      });
    });
    return this.ready;
  }
}
