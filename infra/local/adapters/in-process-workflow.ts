// ApprovalWorkflow in process: interprets the shared state description, persisting each step, resuming after a restart.

import { randomBytes } from "node:crypto";
import { approvalWorkflowInputSchema } from "#shared/approval/approval-workflow.ts";
import type { TaskHandler } from "#shared/approval/tasks/task-input.ts";
import {
  readPath,
  type TaskName,
  type WorkflowDescription,
  type WorkflowError,
  type WorkflowState,
  writeResult,
} from "#shared/approval/workflow-description.ts";
import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import { errorFields, type Logger } from "#shared/log.ts";
import type { ApprovalWorkflow, Clock, DecisionOutput } from "#shared/ports.ts";
import { EXECUTION_SCHEMA, type Execution, ExecutionFiles } from "./workflow-execution.ts";

/** How the runner is built. */
export interface InProcessWorkflowOptions {
  /** Where execution documents live (`DATA_DIR/approvals/executions`). */
  readonly directory: string;
  readonly description: WorkflowDescription;
  /** The task handlers, by name (resolved lazily: tasks may need the runner itself). */
  readonly tasks: () => Readonly<Record<TaskName, TaskHandler>>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often timers (timeouts, heartbeats, waits, retries) are checked against the clock, ms. */
  readonly tickMs?: number;
  /** The longest a callback task's worker may take before it counts as failed, ms. */
  readonly workerTimeoutMs?: number;
}

interface Run {
  doc: Execution;
  active: Promise<void> | undefined;
  again: boolean;
  saving: Promise<void>;
}

class TaskTimeout extends Error {
  override readonly name = "TaskTimeout";
}

function matches(errorEquals: readonly WorkflowError[], error: string): boolean {
  return (
    errorEquals.includes("States.ALL") ||
    errorEquals.includes(error as WorkflowError) ||
    (error === "States.HeartbeatTimeout" && errorEquals.includes("States.Timeout"))
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TaskTimeout(`no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Plays Step Functions for one description: `start` persists an execution and drives it; every state change is
 * written (fsync'd, atomic rename) before the next step, so after a restart `resume` continues each running
 * execution where it stopped — a task that was running is invoked again (tasks are idempotent), a callback keeps
 * its token, and timers are deadlines against the clock, so an expiry that passed while the process was down
 * fires at once. Like Step Functions, a state's timers run from the moment it was entered (persisted), not from when
 * a restarted process got to it. Task tokens are opaque random strings; `sendTaskSuccess` completes only the open one.
 */
export class InProcessWorkflow implements ApprovalWorkflow {
  private readonly runs = new Map<string, Run>();
  private readonly byToken = new Map<string, Run>();
  private readonly files: ExecutionFiles;
  private readonly digest: string;
  private ticker: NodeJS.Timeout | undefined;
  private closing = false;

  private constructor(private readonly options: InProcessWorkflowOptions) {
    this.files = new ExecutionFiles(options.directory);
    this.digest = sha256Hex(canonicalJson(options.description));
  }

  /**
   * Loads the running executions (nothing runs until `resume`). A stopped one still among them (the process
   * stopped between its last write and its move) is moved to `stopped/` now.
   */
  static async open(options: InProcessWorkflowOptions): Promise<InProcessWorkflow> {
    const runner = new InProcessWorkflow(options);
    const docs = await runner.files.loadAll((name) =>
      options.logger.error("unreadable workflow execution document skipped", { file: name }),
    );
    for (const doc of docs) {
      if (doc.status !== "running") {
        await runner.files.retire(doc.name).catch((error: unknown) =>
          options.logger.warn("stopped workflow execution not moved; it stays where it is", {
            execution: doc.name,
            ...errorFields(error),
          }),
        );
        continue;
      }
      const run: Run = { doc, active: undefined, again: false, saving: Promise.resolve() };
      runner.runs.set(doc.name, run);
      if (doc.status === "running" && doc.callback !== null) runner.byToken.set(doc.callback.token, run);
    }
    return runner;
  }

  /** Starts the timers and drives every running execution (call once the task handlers can run). */
  resume(): void {
    if (this.ticker !== undefined) return;
    this.ticker = setInterval(() => this.tick(), this.options.tickMs ?? 250);
    this.ticker.unref();
    const running = [...this.runs.values()].filter((r) => r.doc.status === "running");
    if (running.length > 0)
      this.options.logger.info("resuming workflow executions", { count: running.length });
    this.tick();
  }

  /** Stops the timers and waits for steps in flight; nothing new starts. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    await Promise.all([...this.runs.values()].map((r) => r.active));
    await Promise.all([...this.runs.values()].map((r) => r.saving));
  }

  /** Starts an execution named by the approval id; a name started before, running or stopped, starts nothing. */
  async start(request: { approvalId: string; sessionId: string }): Promise<void> {
    if (this.closing) throw new UnavailableError("workflow_unavailable", "the workflow runner is stopping");
    const input = approvalWorkflowInputSchema.parse(request);
    if (this.runs.has(input.approvalId)) return;
    let started: boolean;
    try {
      started = await this.files.exists(input.approvalId);
    } catch (error) {
      throw new UnavailableError("workflow_unavailable", "the workflow could not be started", {
        cause: error,
      });
    }
    // Checked again with no await before the set below: two starts of one name cannot both get past it.
    if (started || this.runs.has(input.approvalId)) return;
    if (this.closing) throw new UnavailableError("workflow_unavailable", "the workflow runner is stopping");
    const now = this.now();
    const doc: Execution = {
      schema: EXECUTION_SCHEMA,
      name: input.approvalId,
      machine: this.options.description.name,
      machineDigest: this.digest,
      status: "running",
      startedAt: now.toISOString(),
      stoppedAt: null,
      deadlineAt: new Date(now.getTime() + this.options.description.timeoutSeconds * 1000).toISOString(),
      state: this.options.description.startAt,
      enteredAt: now.toISOString(),
      data: { approvalId: input.approvalId, sessionId: input.sessionId },
      attempt: 0,
      retryAt: null,
      callback: null,
      waitUntil: null,
      error: null,
      history: [],
      revision: 0,
    };
    const run: Run = { doc, active: undefined, again: false, saving: Promise.resolve() };
    this.runs.set(doc.name, run);
    try {
      await this.persist(run);
    } catch (error) {
      this.runs.delete(doc.name);
      throw new UnavailableError("workflow_unavailable", "the workflow could not be started", {
        cause: error,
      });
    }
    void this.drive(run);
  }

  sendTaskSuccess(taskToken: string, output: DecisionOutput): Promise<void> {
    return this.complete(taskToken, { kind: "success", output });
  }

  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    return this.complete(taskToken, { kind: "failure", error, cause });
  }

  async sendTaskHeartbeat(taskToken: string): Promise<void> {
    const run = this.openTask(taskToken);
    const callback = run.doc.callback;
    if (callback === null) throw new ConflictError("task_not_open", "no open task has this token");
    callback.heartbeatAt = this.now().toISOString();
    await this.persist(run);
  }

  private openTask(taskToken: string): Run {
    const run = this.byToken.get(taskToken);
    const callback = run?.doc.callback;
    if (
      run === undefined ||
      run.doc.status !== "running" ||
      callback === null ||
      callback === undefined ||
      callback.token !== taskToken ||
      callback.result !== null ||
      this.now().getTime() >= Date.parse(callback.timeoutAt)
    ) {
      throw new ConflictError(
        "task_not_open",
        "no open task has this token (unknown, timed out or completed)",
      );
    }
    return run;
  }

  private async complete(
    taskToken: string,
    result: NonNullable<Execution["callback"]>["result"],
  ): Promise<void> {
    const run = this.openTask(taskToken);
    const callback = run.doc.callback;
    if (callback === null) throw new ConflictError("task_not_open", "no open task has this token");
    callback.result = result;
    await this.persist(run);
    void this.drive(run);
  }

  private now(): Date {
    return this.options.clock.now();
  }

  private tick(): void {
    if (this.closing) return;
    for (const run of this.runs.values()) {
      if (run.doc.status === "running" && run.active === undefined) void this.drive(run);
    }
  }

  /** Writes the execution's current content; writes are serialized per execution, each one durable. */
  private persist(run: Run): Promise<void> {
    run.doc.revision += 1;
    const next = run.saving.then(() => this.files.save(run.doc));
    run.saving = next.catch(() => undefined);
    return next;
  }

  /** Steps an execution until it has to wait; one driver per execution at a time. */
  private drive(run: Run): Promise<void> {
    if (run.active !== undefined) {
      run.again = true;
      return run.active;
    }
    run.active = (async () => {
      try {
        do {
          run.again = false;
          while (!this.closing && (await this.step(run))) {}
        } while (run.again && !this.closing);
      } catch (error) {
        this.options.logger.error("workflow step failed; it is retried on the next tick", {
          execution: run.doc.name,
          state: run.doc.state,
          ...errorFields(error),
        });
      }
    })().finally(() => {
      run.active = undefined;
    });
    return run.active;
  }

  /** Performs one step; returns whether the execution can step again right away. */
  private async step(run: Run): Promise<boolean> {
    const { doc } = run;
    if (doc.status !== "running") return false;
    const now = this.now();
    if (now.getTime() >= Date.parse(doc.deadlineAt)) {
      await this.stop(run, "failed", { error: "States.Timeout", cause: "the execution ran out of time" });
      return false;
    }
    const state = this.options.description.states[doc.state];
    if (state === undefined) {
      await this.stop(run, "failed", { error: "States.Runtime", cause: `unknown state ${doc.state}` });
      return false;
    }
    switch (state.type) {
      case "succeed":
        await this.stop(run, "succeeded", null);
        return false;
      case "fail":
        await this.stop(run, "failed", { error: state.error, cause: state.cause });
        return false;
      case "choice": {
        const rule = state.choices.find((c) => {
          const value = readPath(doc.data, c.variable);
          return "stringEquals" in c
            ? value === c.stringEquals
            : typeof value === "number" && value < c.numericLessThan;
        });
        await this.moveTo(run, rule?.next ?? state.default, doc.data, "chosen");
        return true;
      }
      case "wait": {
        if (doc.waitUntil === null) {
          const seconds = Number(readPath(doc.data, state.secondsPath));
          const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
          doc.waitUntil = new Date(Date.parse(doc.enteredAt) + ms).toISOString();
          await this.persist(run);
        }
        if (now.getTime() < Date.parse(doc.waitUntil)) return false;
        await this.moveTo(run, state.next, doc.data, "waited");
        return true;
      }
      case "task":
        return this.runTask(run, state, now);
      case "callback":
        return this.runCallback(run, state, now);
    }
  }

  private async runTask(
    run: Run,
    state: Extract<WorkflowState, { type: "task" }>,
    now: Date,
  ): Promise<boolean> {
    const { doc } = run;
    if (doc.retryAt !== null && now.getTime() < Date.parse(doc.retryAt)) return false;
    doc.attempt += 1;
    doc.retryAt = null;
    await this.persist(run);
    let result: unknown;
    try {
      result = await withTimeout(
        this.handler(state.task)(structuredClone(doc.data)),
        state.timeoutSeconds * 1000,
      );
    } catch (error) {
      const name = error instanceof TaskTimeout ? "States.Timeout" : "States.TaskFailed";
      this.options.logger.warn("workflow task failed", {
        execution: doc.name,
        task: state.task,
        attempt: doc.attempt,
        error: name,
        ...errorFields(error),
      });
      const retrier = state.retry.find((r) => matches(r.errorEquals, name));
      if (retrier !== undefined && doc.attempt <= retrier.maxAttempts) {
        const delay = retrier.intervalSeconds * retrier.backoffRate ** (doc.attempt - 1);
        doc.retryAt = new Date(this.now().getTime() + delay * 1000).toISOString();
        await this.persist(run);
        return false;
      }
      return this.fail(run, state.catch, name, error instanceof Error ? error.name : "Error");
    }
    await this.moveTo(run, state.next, writeResult(doc.data, state.resultPath, result), "succeeded");
    return true;
  }

  private async runCallback(
    run: Run,
    state: Extract<WorkflowState, { type: "callback" }>,
    now: Date,
  ): Promise<boolean> {
    const { doc } = run;
    if (doc.retryAt !== null && now.getTime() < Date.parse(doc.retryAt)) return false;
    if (doc.callback === null) {
      const timeout = Number(readPath(doc.data, state.timeoutSecondsPath));
      const heartbeat = Number(readPath(doc.data, state.heartbeatSecondsPath));
      if (!Number.isInteger(timeout) || timeout <= 0 || !Number.isInteger(heartbeat) || heartbeat <= 0) {
        return this.fail(
          run,
          state.catch,
          "States.Runtime",
          "the timeout or heartbeat path is not a positive integer",
        );
      }
      const entered = Date.parse(doc.enteredAt);
      doc.callback = {
        token: `tt_${randomBytes(32).toString("base64url")}`,
        timeoutAt: new Date(entered + timeout * 1000).toISOString(),
        heartbeatSeconds: heartbeat,
        heartbeatAt: doc.enteredAt,
        workerDone: false,
        result: null,
      };
      this.byToken.set(doc.callback.token, run);
      await this.persist(run);
    }
    const callback = doc.callback;
    if (callback.result !== null) {
      const { result } = callback;
      if (result.kind === "success") {
        await this.moveTo(
          run,
          state.next,
          writeResult(doc.data, state.resultPath, result.output),
          "succeeded",
        );
        return true;
      }
      return this.fail(run, state.catch, result.error, result.cause);
    }
    if (now.getTime() >= Date.parse(callback.timeoutAt)) {
      return this.fail(run, state.catch, "States.Timeout", "no decision before the timeout");
    }
    if (now.getTime() >= Date.parse(callback.heartbeatAt) + callback.heartbeatSeconds * 1000) {
      return this.fail(run, state.catch, "States.HeartbeatTimeout", "the token holder sent no heartbeat");
    }
    if (callback.workerDone) return false;
    try {
      await withTimeout(
        this.handler(state.task)({ input: structuredClone(doc.data), taskToken: callback.token }),
        this.options.workerTimeoutMs ?? 60_000,
      );
    } catch (error) {
      this.options.logger.warn("workflow callback worker failed", {
        execution: doc.name,
        task: state.task,
        ...errorFields(error),
      });
      if (doc.callback !== callback || callback.result !== null) return true;
      const name = error instanceof Error ? error.name : "Error";
      doc.attempt += 1;
      const retrier = state.retry.find((r) => matches(r.errorEquals, name));
      if (retrier !== undefined && doc.attempt <= retrier.maxAttempts) {
        const delay = retrier.intervalSeconds * retrier.backoffRate ** (doc.attempt - 1);
        doc.retryAt = new Date(this.now().getTime() + delay * 1000).toISOString();
        await this.persist(run);
        return false;
      }
      return this.fail(run, state.catch, "States.TaskFailed", name);
    }
    if (doc.callback === callback) {
      callback.workerDone = true;
      await this.persist(run);
    }
    return true;
  }

  private handler(task: TaskName): TaskHandler {
    return this.options.tasks()[task];
  }

  /** Routes an error to the first matching catcher, or fails the execution. */
  private async fail(
    run: Run,
    catchers: readonly { errorEquals: readonly WorkflowError[]; resultPath: string | null; next: string }[],
    error: string,
    cause: string,
  ): Promise<boolean> {
    const catcher = catchers.find((c) => matches(c.errorEquals, error));
    if (catcher === undefined) {
      await this.stop(run, "failed", { error, cause });
      return false;
    }
    await this.moveTo(
      run,
      catcher.next,
      writeResult(run.doc.data, catcher.resultPath, { Error: error, Cause: cause }),
      error,
    );
    return true;
  }

  private async moveTo(
    run: Run,
    next: string,
    data: Record<string, unknown>,
    outcome: string,
  ): Promise<void> {
    const { doc } = run;
    const now = this.now().toISOString();
    doc.history = [
      ...doc.history,
      { state: doc.state, enteredAt: doc.enteredAt, leftAt: now, outcome },
    ].slice(-200);
    if (doc.callback !== null) this.byToken.delete(doc.callback.token);
    doc.state = next;
    doc.enteredAt = now;
    doc.data = data;
    doc.attempt = 0;
    doc.retryAt = null;
    doc.callback = null;
    doc.waitUntil = null;
    await this.persist(run);
  }

  private async stop(run: Run, status: "succeeded" | "failed", error: Execution["error"]): Promise<void> {
    const { doc } = run;
    if (doc.callback !== null) this.byToken.delete(doc.callback.token);
    doc.status = status;
    doc.stoppedAt = this.now().toISOString();
    doc.error = error;
    doc.callback = null;
    await this.persist(run);
    const fields = { execution: doc.name, status, error: error?.error };
    if (status === "succeeded") this.options.logger.info("workflow execution stopped", fields);
    else this.options.logger.error("workflow execution stopped", fields);
    await this.retire(run);
  }

  /**
   * Takes a stopped execution out of the working set: its document to `stopped/`, its run out of memory, so that
   * ticks and starts cost the running executions only. The outcome is already durable; if the move fails, the next
   * start makes it.
   */
  private async retire(run: Run): Promise<void> {
    const name = run.doc.name;
    const moved = run.saving.then(() => this.files.retire(name));
    run.saving = moved.catch(() => undefined);
    try {
      await moved;
    } catch (error) {
      this.options.logger.warn("stopped workflow execution not moved yet; the next start moves it", {
        execution: name,
        ...errorFields(error),
      });
    }
    this.runs.delete(name);
  }
}
