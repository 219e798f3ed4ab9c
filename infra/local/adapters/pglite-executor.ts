// SqlExecutor over embedded PGlite in a worker thread; the statement timeout is enforced by ending the worker.

import { chmod, mkdir } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import {
  type FromWorker,
  type OpenMessage,
  type ToWorker,
  toWorkerParams,
  type WorkerField,
} from "#infra/local/adapters/pglite-protocol.ts";
import { QueryFailedError, RateLimitedError, UnavailableError } from "#shared/errors.ts";
import type { Logger } from "#shared/log.ts";
import type { ExecuteRequest, ExecuteSummary, RowSink, SqlExecutor, SqlParam } from "#shared/ports.ts";
import { CATALOG_SQL, catalogFromRows } from "#shared/sql/catalog.ts";
import type { GenericStatement } from "#shared/sql/generic-statement.ts";
import { columnWeights, handOnInRuns, PageBudget, pageRuns } from "#shared/sql/page-sizing.ts";
import {
  estimateSteps,
  ParameterTypeError,
  type PlanFigure,
  planEstimate,
  withRetyping,
} from "#shared/sql/plan-estimate.ts";
import { queryFailure } from "#shared/sql/sqlstate.ts";
import type { Catalog, ResultColumn } from "#shared/sql/types.ts";
import { decodeRowsInPlace, typeName } from "#shared/sql/values.ts";

type Handler = (message: FromWorker) => void;

/** What a job gets while it holds the worker. */
interface JobContext {
  readonly id: number;
  readonly post: (message: ToWorker) => void;
  readonly onMessage: (handler: Handler) => void;
  /**
   * The job failed while its statement still runs on the worker: the worker is asked to end it (`cancel`), and the
   * next job starts once `ended` settles, or with a fresh worker after {@link DRAIN_MS} (or the statement's deadline).
   */
  readonly drain: (ended: Promise<void>) => void;
  /** False once the job has ended (finished, failed or stopped): work left over from it is dropped. */
  readonly active: () => boolean;
}

/**
 * How long a failed statement's worker may take to end it after a `cancel` (it finishes the page it is fetching
 * ahead) before it is restarted, never past the statement's deadline. A restart costs the next caller a fresh worker
 * (about a second, several on a loaded machine): the thirty-ninth outside attack slowed another caller's reads
 * 300-fold with cheap statements that failed on the main thread (`'1e400'::json`, a row past its limit), each of
 * which restarted the worker. Short, because the fortieth made the page fetched ahead slow on purpose: then the
 * drain is time the next caller waits on top of the restart.
 */
const DRAIN_MS = 250;

/**
 * The worker's young generation, MB (two 8 MB semi-spaces and their large objects): as `npm start`'s
 * `--max-semi-space-size=8` for the main thread. V8's default (two of 16 MB) is committed once start-up has
 * filled it and is never given back; half of it measured no slower on an export (docs/performance.md).
 */
const WORKER_YOUNG_GENERATION_MB = 24;

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError("database_unavailable", message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Whether `promise` settles within `ms` (a rejection counts as settled). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Options of the embedded executor. */
export interface PgliteExecutorOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** How long a statement may wait for the worker before the request fails with 429 (Retry-After). */
  readonly queueTimeoutMs?: number;
  /**
   * Statements one caller may have waiting for the worker (beyond: 429 with Retry-After); default 256 (the
   * policy's per-caller burst is the tighter bound in practice).
   */
  readonly maxQueuedPerCaller?: number;
  /**
   * How long a caller's statement may hold the worker while that caller has more statements waiting and another
   * caller's waits; then it is stopped (429, the worker restarts) and the other caller's runs. Default 2000 ms.
   */
  readonly fairSliceMs?: number;
}

/** A job waiting for (or holding) the worker. */
interface Job {
  readonly owner: string;
  readonly enqueued: number;
  readonly start: () => void;
  /** Stops the job now (it holds the worker): the worker restarts and the job fails with `error`. */
  stop?: (error: Error) => void;
  startedAt?: number;
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
  /** Waiting jobs by caller; callers are served in turn (round robin), each caller's jobs in order. */
  private readonly waiting = new Map<string, Job[]>();
  private running: Job | undefined;
  private spare: Worker | undefined;
  /** Workers being terminated: a new worker opens the data directory only once they have ended. */
  private stopping: Promise<unknown> = Promise.resolve();
  private lastOwner: string | undefined;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: (() => void) | undefined;
  private sliceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * PGlite's WebAssembly as the first worker compiled it, handed to every later one: a reopen after a stop then
   * neither compiles it again nor its functions as they first run (the module carries the code workers compiled).
   */
  private wasmModule: WebAssembly.Module | undefined;

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
    return this.serialized(
      request.timeoutMs,
      request.caller ?? "",
      ({ id, post, onMessage, drain, active }) => {
        const started = performance.now();
        let columns: WorkerField[] = [];
        let weights: number[] | undefined;
        let budget: PageBudget | undefined;
        let pending: Promise<void> = Promise.resolve();
        let markWorkerDone: () => void = () => undefined;
        const workerDone = new Promise<void>((resolve) => (markWorkerDone = resolve));
        return new Promise<ExecuteSummary>((resolve, reject) => {
          const fail = (error: unknown): void => reject(error);
          let cancelled = false;
          // The result failed here (a limit, a value, the sink): the caller is answered now, and the worker ends
          // the statement as it ends any other and keeps running.
          const cancel = (error: unknown): void => {
            fail(error);
            if (cancelled) return;
            cancelled = true;
            post({ type: "cancel", id });
            drain(workerDone);
          };
          onMessage((message) => {
            if (message.type === "done" || message.type === "failed" || message.type === "cancelled")
              markWorkerDone();
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
                // A page past a limit fails the statement before anything of it is decoded (the worker ends it: cancel).
                weights ??= columnWeights(columns.map((c) => c.typeOid));
                budget ??= new PageBudget(weights);
                const overLimit = budget.addPage(message.rows);
                const chars = budget.next();
                if (overLimit !== undefined) throw overLimit;
                // Decoded and handed on in runs of bounded text, the event loop running between them.
                const runs = pageRuns(message.rows, chars, weights);
                const oids = columns.map((c) => c.typeOid);
                pending = pending.then(async () => {
                  // A stopped statement's pages are dropped, not masked for nobody.
                  if (!active()) return;
                  await handOnInRuns(runs, (run) =>
                    active() ? sink.rows(decodeRowsInPlace(run, oids)) : undefined,
                  );
                  if (active()) post({ type: "ack", id });
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
              pending = pending.catch(cancel);
            } catch (error) {
              cancel(error);
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
      },
    );
  }

  estimateRows(statement: GenericStatement, timeoutMs: number, caller?: string): Promise<number> {
    return this.plan(statement, timeoutMs, "Plan Rows", caller);
  }

  estimateCost(statement: GenericStatement, timeoutMs: number, caller?: string): Promise<number> {
    return this.plan(statement, timeoutMs, "Total Cost", caller);
  }

  /**
   * The generic plan's figure, in the caller's turns (planning can take as long as running); the worker's
   * `DISCARD ALL` after it drops the prepared statement.
   */
  private async plan(
    statement: GenericStatement,
    timeoutMs: number,
    figure: PlanFigure,
    caller: string | undefined,
  ): Promise<number> {
    const result = await withRetyping(statement, (typed) => {
      const steps = estimateSteps(typed);
      const before = [
        ...steps.settings.map(([name, value]) => `SET LOCAL ${name} = ${value}`),
        ...steps.before,
      ];
      return this.run("query", steps.explain, [], timeoutMs, caller ?? "", before);
    });
    return planEstimate(result.rows[0]?.[0], figure);
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
    this.wasmModule = undefined;
    await this.idle;
    await this.spare?.terminate();
    this.spare = undefined;
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private run(
    type: "query" | "admin",
    sql: string,
    params: readonly SqlParam[],
    timeoutMs: number,
    owner = "",
    before: readonly string[] = [],
  ): Promise<AdminResult> {
    return this.serialized(timeoutMs, owner, ({ id, post, onMessage }) => {
      return new Promise<AdminResult>((resolve, reject) => {
        onMessage((message) => {
          if (message.type === "result") resolve({ fields: message.fields, rows: message.rows });
          else if (message.type === "failed")
            reject(
              message.parameterType === undefined
                ? queryFailure(message.sqlstate)
                : new ParameterTypeError(message.parameterType.kind, message.parameterType.parameter),
            );
        });
        const message = { id, sql, params: toWorkerParams(params) };
        post(
          type === "admin"
            ? { type, ...message }
            : { type, ...message, ...(before.length === 0 ? {} : { before: [...before] }) },
        );
      });
    });
  }

  /**
   * Runs one job at a time on the worker, callers in turn: a caller may have `maxQueuedPerCaller` jobs waiting
   * (beyond: 429), and a job that holds the worker for `fairSliceMs` while its caller has more waiting and
   * another caller's waits is stopped (429; the worker restarts), so one caller's heavy statements cannot shut
   * others out. Each job has a deadline
   * that restarts the worker when exceeded.
   */
  private serialized<T>(
    timeoutMs: number,
    owner: string,
    job: (context: JobContext) => Promise<T>,
  ): Promise<T> {
    if (this.closed)
      return Promise.reject(new UnavailableError("database_unavailable", "the database is closed"));
    const queue = this.waiting.get(owner) ?? [];
    const maxQueued = this.options.maxQueuedPerCaller ?? 256;
    if (owner !== "" && queue.length >= maxQueued) {
      const retryAfterSeconds = Math.max(1, Math.ceil((this.options.fairSliceMs ?? 2_000) / 1000));
      return Promise.reject(
        new RateLimitedError(
          `this caller already has ${queue.length} statement(s) waiting for the embedded database; retry later`,
          { details: { retryAfterSeconds } },
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Job = {
        owner,
        enqueued: performance.now(),
        start: () => {
          this.runJob(entry, timeoutMs, job).then(resolve, reject);
        },
      };
      queue.push(entry);
      this.waiting.set(owner, queue);
      if (this.running === undefined) {
        this.idle = new Promise<void>((done) => (this.markIdle = done));
        this.pump();
      } else this.checkFairness();
    });
  }

  /** Starts the next job: the first waiting caller after the one served last (callers take turns). */
  private pump(): void {
    clearTimeout(this.sliceTimer);
    this.sliceTimer = undefined;
    let chosen: [string, Job[]] | undefined;
    for (const entry of this.waiting) {
      chosen ??= entry;
      if (entry[0] !== this.lastOwner) {
        chosen = entry;
        break;
      }
    }
    if (chosen === undefined) {
      this.running = undefined;
      this.markIdle?.();
      return;
    }
    const [owner, queue] = chosen;
    const job = queue.shift();
    // The served caller goes to the back of the turn order.
    this.waiting.delete(owner);
    if (queue.length > 0) this.waiting.set(owner, queue);
    if (job === undefined) {
      this.pump();
      return;
    }
    this.running = job;
    this.lastOwner = owner;
    job.start();
  }

  /**
   * Whether the running job's caller occupies the worker: it has more statements waiting while another caller
   * waits. Only such a job is stopped (a caller with one statement in flight is never displaced, so the statement
   * that displaced another runs to its end).
   */
  private occupies(running: Job): boolean {
    if ((this.waiting.get(running.owner)?.length ?? 0) === 0) return false;
    return [...this.waiting.keys()].some((owner) => owner !== running.owner);
  }

  /** Stops the running job once it has had its slice, if its caller occupies the worker. */
  private checkFairness(): void {
    const running = this.running;
    if (running === undefined || running.owner === "" || running.startedAt === undefined) return;
    if (!this.occupies(running)) return;
    if (this.sliceTimer !== undefined) return;
    const slice = this.options.fairSliceMs ?? 2_000;
    const left = Math.max(0, running.startedAt + slice - performance.now());
    this.sliceTimer = setTimeout(() => {
      this.sliceTimer = undefined;
      if (this.running !== running || !this.occupies(running)) return;
      this.options.logger.warn(
        "a statement held the embedded database while another caller waited; stopping it",
        {
          sliceMs: slice,
        },
      );
      running.stop?.(
        new RateLimitedError(
          `the embedded database is shared: this statement was stopped after ${slice} ms so another caller's could run; retry later`,
          { details: { retryAfterSeconds: Math.max(1, Math.ceil(slice / 1000)) } },
        ),
      );
    }, left);
  }

  private async runJob<T>(
    entry: Job,
    timeoutMs: number,
    job: (context: JobContext) => Promise<T>,
  ): Promise<T> {
    const queueTimeoutMs = this.options.queueTimeoutMs ?? 30_000;
    try {
      if (performance.now() - entry.enqueued > queueTimeoutMs) {
        // Busy, not down: a 429 with when to retry, as the server executor answers a wait past its bound.
        throw new RateLimitedError(
          `the embedded database is busy: this statement waited over ${Math.round(queueTimeoutMs / 1000)} s for its turn; retry later`,
          {
            details: {
              retryAfterSeconds: Math.max(1, Math.ceil((this.options.fairSliceMs ?? 2_000) / 1000)),
            },
          },
        );
      }
      await withTimeout(this.ensureReady(), 120_000, "the database did not start in time");
      const worker = this.worker;
      if (worker === undefined)
        throw new UnavailableError("database_unavailable", "the database is unavailable");
      const id = this.nextId++;
      let timer: NodeJS.Timeout | undefined;
      let stopped: ((error: Error) => void) | undefined;
      let ended = false;
      let draining: Promise<void> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        stopped = (error) => {
          ended = true;
          this.restart(worker);
          reject(error);
        };
        timer = setTimeout(() => {
          this.options.logger.warn("statement exceeded its timeout; restarting the database worker", {
            timeoutMs,
          });
          stopped?.(
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
      entry.stop = stopped;
      entry.startedAt = performance.now();
      this.checkFairness();
      const spareTimer = setTimeout(() => this.prepareSpare(), this.options.fairSliceMs ?? 2_000);
      try {
        return await Promise.race([
          job({
            id,
            post: (m) => worker.postMessage(m),
            onMessage: (h) => this.handlers.set(id, h),
            drain: (statementEnded) => {
              draining ??= statementEnded;
            },
            active: () => !ended,
          }),
          deadline,
          exited,
        ]);
      } finally {
        ended = true;
        clearTimeout(timer);
        clearTimeout(spareTimer);
        if (draining !== undefined && this.worker === worker) {
          // A spare loads while the worker drains, in case the drain runs out: the next caller then waits for
          // an open, not for a worker to load as well.
          this.prepareSpare();
          const drainStarted = performance.now();
          const bound = Math.min(DRAIN_MS, (entry.startedAt ?? 0) + timeoutMs - drainStarted);
          // A worker that exits meanwhile (stopped after its slice) ends the wait too.
          if (bound > 0 && (await settlesWithin(Promise.race([draining, exited]), bound))) {
            this.options.logger.debug("a failed statement ended on the worker", {
              drainMs: Math.round(performance.now() - drainStarted),
            });
          } else if (this.worker === worker) {
            this.options.logger.warn(
              "a failed statement did not end in time; restarting the database worker",
              {
                drainMs: Math.max(0, Math.round(bound)),
              },
            );
            this.restart(worker);
          }
        }
        if (onExit !== undefined) worker.off("exit", onExit);
        this.handlers.delete(id);
      }
    } finally {
      entry.stop = undefined;
      this.pump();
    }
  }

  /**
   * Ends `worker` (a statement past its deadline, a worker that failed); the next job opens a fresh one. Only the
   * current worker is replaced: a job that ended before its pages were handed on must not stop its successor's.
   */
  private restart(worker: Worker): void {
    if (this.worker === worker) {
      this.worker = undefined;
      this.ready = undefined;
    }
    // Settles to nothing, so a long-lived executor's restarts do not chain their results together.
    this.stopping = Promise.all([this.stopping, worker.terminate()]).then(
      () => undefined,
      () => undefined,
    );
  }

  private ensureReady(): Promise<void> {
    if (this.worker === undefined || this.ready === undefined) return this.spawn();
    return this.ready;
  }

  private newWorker(): Worker {
    return new Worker(new URL("./pglite-worker-boot.mjs", import.meta.url), {
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      workerData: {
        entry: new URL("./pglite-worker.ts", import.meta.url).href,
        dataDir: this.options.dataDir,
      },
    });
  }

  /**
   * Loads a spare worker's code (not the database) once a statement has held the worker for a slice: a stopped
   * statement's successor then opens the database without first loading a worker.
   */
  private prepareSpare(): void {
    if (this.spare !== undefined || this.closed) return;
    const spare = this.newWorker();
    spare.once("exit", () => {
      if (this.spare === spare) this.spare = undefined;
    });
    spare.once("error", () => undefined);
    this.spare = spare;
  }

  private spawn(): Promise<void> {
    const spare = this.spare;
    this.spare = undefined;
    const worker = spare ?? this.newWorker();
    // Opened once every worker before it has ended: two PGlite instances must never share a data directory.
    void this.stopping.then(() => {
      const open: OpenMessage = { type: "open", wasmModule: this.wasmModule };
      worker.postMessage(open);
    });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      const onError = (error: unknown): void => {
        this.options.logger.error("database worker failed");
        // The next worker compiles PGlite's module afresh, in case the one handed on is what failed.
        this.wasmModule = undefined;
        this.restart(worker);
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
        // A worker that stops before it is ready fails the job waiting for it now, not at the start-up bound.
        reject(new UnavailableError("database_unavailable", "the database worker stopped while opening"));
      });
      worker.on("message", (message: FromWorker) => {
        if (message.type === "ready") {
          if (message.wasmModule instanceof WebAssembly.Module && !this.closed)
            this.wasmModule = message.wasmModule;
          this.options.logger.info("embedded database ready", {
            startMs: message.startMs,
            wasm: message.wasm,
          });
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
