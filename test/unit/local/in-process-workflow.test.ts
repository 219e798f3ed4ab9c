// The in-process runner interpreting the approval states: tokens, persistence, resume after a restart, timers, retries.

import { access, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InProcessWorkflow } from "#infra/local/adapters/in-process-workflow.ts";
import { APPROVAL_STATES } from "#shared/approval/approval-workflow.ts";
import type { TaskHandler } from "#shared/approval/tasks/task-input.ts";
import type { TaskName } from "#shared/approval/workflow-description.ts";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import { silentLogger } from "#shared/log.ts";
import { type AdjustableClock, adjustableClock, eventually, readExecution } from "#test/support/approvals.ts";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

const INPUT = { approvalId: "apr_0000000000000000000000000A", sessionId: "ses_00000000000000000000000000" };

/** Fake tasks recording their calls; plan-wait answers from `plan`. */
function fakeTasks() {
  const calls: { task: TaskName; payload: unknown }[] = [];
  const plan = { remainingSeconds: 60, heartbeatSeconds: 30 };
  const behaviour: Partial<Record<TaskName, (payload: unknown) => Promise<unknown>>> = {};
  const handler =
    (task: TaskName, result: unknown): TaskHandler =>
    async (payload) => {
      calls.push({ task, payload });
      const custom = behaviour[task];
      return custom === undefined ? result : custom(payload);
    };
  const tasks: Record<TaskName, TaskHandler> = {
    "plan-wait": async (payload) => {
      calls.push({ task: "plan-wait", payload });
      return { ...plan };
    },
    "notify-approvers": handler("notify-approvers", { notified: true }),
    "execute-approved": handler("execute-approved", { status: "completed" }),
    "close-denied": handler("close-denied", {}),
    "close-expired": handler("close-expired", { outcome: "expired" }),
    "close-failed": handler("close-failed", {}),
  };
  const count = (task: TaskName) => calls.filter((c) => c.task === task).length;
  const tokens = () =>
    calls
      .filter((c) => c.task === "notify-approvers")
      .map((c) => (c.payload as { taskToken: string }).taskToken);
  return { tasks, calls, plan, behaviour, count, tokens };
}

describe("InProcessWorkflow", () => {
  let directory: string;
  let clock: AdjustableClock;
  const runners: InProcessWorkflow[] = [];

  const open = async (tasks: Record<TaskName, TaskHandler>, withClock = clock) => {
    const runner = await InProcessWorkflow.open({
      directory,
      description: APPROVAL_STATES,
      tasks: () => tasks,
      clock: withClock,
      logger: silentLogger,
      tickMs: 10,
    });
    runners.push(runner);
    runner.resume();
    return runner;
  };
  const stored = () => readExecution(directory, INPUT.approvalId);
  /** Opens a runner, starts INPUT and waits until the callback task holds its token. */
  const startWaiting = async (fake: ReturnType<typeof fakeTasks>) => {
    const runner = await open(fake.tasks);
    await runner.start(INPUT);
    const [token] = await eventually(async () => (fake.tokens().length > 0 ? fake.tokens() : undefined));
    return { runner, token: token ?? "" };
  };

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "phigate-runner-"));
    clock = adjustableClock();
  });
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("hands the callback task a token, waits, and routes task success to Execute exactly once", async () => {
    const fake = fakeTasks();
    const runner = await open(fake.tasks);
    await runner.start(INPUT);
    await runner.start(INPUT);
    const [token] = await eventually(async () => (fake.tokens().length > 0 ? fake.tokens() : undefined));
    expect(token).toMatch(/^tt_[A-Za-z0-9_-]{43}$/);
    expect(fake.calls[1]?.payload).toEqual({ input: { ...INPUT, wait: fake.plan }, taskToken: token });
    // The token reaches the task before the runner persists that the task returned: wait for that write.
    const waiting = await eventually(async () => {
      const state = await stored();
      return state.callback?.workerDone === true ? state : undefined;
    });
    expect(waiting).toMatchObject({
      status: "running",
      state: "AwaitDecision",
      callback: { token, workerDone: true },
    });
    await runner.sendTaskSuccess(token ?? "", { outcome: "approved" });
    await eventually(async () => ((await stored()).status === "succeeded" ? true : undefined));
    expect(fake.count("execute-approved")).toBe(1);
    expect(fake.count("plan-wait")).toBe(1);
    const done = await stored();
    expect(done.history.map((h: { state: string }) => h.state)).toEqual([
      "PlanWait",
      "CheckTimeLeft",
      "AwaitDecision",
      "Decide",
      "Execute",
    ]);
    expect(done.data.decision).toEqual({ outcome: "approved" });
    await expect(runner.sendTaskSuccess(token ?? "", { outcome: "approved" })).rejects.toMatchObject({
      code: "task_not_open",
    });
    await expect(runner.sendTaskHeartbeat("tt_unknown")).rejects.toBeInstanceOf(ConflictError);
  });

  it("keeps a waiting token across a restart, so a decision after the restart completes it", async () => {
    const first = fakeTasks();
    const before = await open(first.tasks);
    await before.start(INPUT);
    const [token] = await eventually(async () => (first.tokens().length > 0 ? first.tokens() : undefined));
    await before.close();

    const second = fakeTasks();
    const after = await open(second.tasks);
    await after.sendTaskSuccess(token ?? "", { outcome: "denied" });
    await eventually(async () => ((await stored()).status === "succeeded" ? true : undefined));
    expect(second.count("close-denied")).toBe(1);
    expect(second.count("notify-approvers")).toBe(0);
    expect(second.count("execute-approved")).toBe(0);
  });

  it("fires an expiry that passed while the runner was down, as soon as it resumes", async () => {
    const first = fakeTasks();
    const before = await open(first.tasks);
    await before.start(INPUT);
    const [token] = await eventually(async () => (first.tokens().length > 0 ? first.tokens() : undefined));
    await before.close();

    const second = fakeTasks();
    const later = adjustableClock(clock.offsetMs + 61_000);
    const after = await open(second.tasks, later);
    await eventually(async () => ((await stored()).status === "succeeded" ? true : undefined));
    expect(second.count("close-expired")).toBe(1);
    expect(second.count("notify-approvers")).toBe(0);
    expect((await stored()).data.failure).toEqual({ Error: "States.Timeout", Cause: expect.any(String) });
    await expect(after.sendTaskSuccess(token ?? "", { outcome: "approved" })).rejects.toMatchObject({
      code: "task_not_open",
    });
  });

  it("routes a token holder's phigate.ApprovalExpired failure to Expire", async () => {
    const fake = fakeTasks();
    const { runner, token } = await startWaiting(fake);
    await runner.sendTaskFailure(token, "phigate.ApprovalExpired", "expired");
    await eventually(async () => ((await stored()).status === "succeeded" ? true : undefined));
    expect(fake.count("close-expired")).toBe(1);
    expect((await stored()).data.failure).toEqual({ Error: "phigate.ApprovalExpired", Cause: "expired" });
  });

  it("re-plans the wait with a fresh token when the token holder's heartbeat lapses; heartbeats keep it", async () => {
    const fake = fakeTasks();
    const { runner, token: first } = await startWaiting(fake);
    clock.advance(20);
    await runner.sendTaskHeartbeat(first);
    clock.advance(20);
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.tokens()).toHaveLength(1);
    clock.advance(15);
    const tokens = await eventually(async () => (fake.tokens().length === 2 ? fake.tokens() : undefined));
    expect(tokens[1]).not.toBe(first);
    expect(fake.count("plan-wait")).toBe(2);
    await expect(runner.sendTaskSuccess(first, { outcome: "approved" })).rejects.toMatchObject({
      code: "task_not_open",
    });
    await runner.sendTaskSuccess(tokens[1] ?? "", { outcome: "approved" });
    await eventually(async () => (fake.count("execute-approved") === 1 ? true : undefined));
  });

  it("retries a callback worker that failed transiently (SNS throttled) instead of failing the approval closed", async () => {
    const fake = fakeTasks();
    let failures = 1;
    fake.behaviour["notify-approvers"] = async () => {
      if (failures-- > 0)
        throw new UnavailableError("workflow_unavailable", "the approvers could not be notified");
      return { notified: true };
    };
    const runner = await open(fake.tasks);
    await runner.start(INPUT);
    await eventually(async () => (fake.count("notify-approvers") === 1 ? true : undefined));
    clock.advance(2);
    await eventually(async () => (fake.count("notify-approvers") === 2 ? true : undefined));
    expect(fake.count("close-failed")).toBe(0);
    await runner.sendTaskSuccess(fake.tokens()[1] ?? "", { outcome: "approved" });
    await eventually(async () => (fake.count("execute-approved") === 1 ? true : undefined));
  });

  it("retries a failing task with backoff, then takes its catcher and fails the execution closed", async () => {
    const fake = fakeTasks();
    fake.behaviour["execute-approved"] = async () => {
      throw new Error("store down");
    };
    const { runner, token } = await startWaiting(fake);
    await runner.sendTaskSuccess(token, { outcome: "approved" });
    await eventually(async () => (fake.count("execute-approved") === 1 ? true : undefined));
    for (const [retry, seconds] of [2, 4, 8].entries()) {
      clock.advance(seconds);
      await eventually(async () => (fake.count("execute-approved") === retry + 2 ? true : undefined));
    }
    const failed = await eventually(async () => {
      const doc = await stored();
      return doc.status === "failed" ? doc : undefined;
    });
    expect(fake.count("execute-approved")).toBe(4);
    expect(fake.count("close-failed")).toBe(1);
    expect(failed.error).toEqual({ error: "ApprovalWorkflowFailed", cause: expect.any(String) });
  });

  it("re-runs a task a crash interrupted (tasks are idempotent), from the persisted state", async () => {
    const first = fakeTasks();
    const before = await open(first.tasks);
    await before.start(INPUT);
    await eventually(async () => (first.tokens().length > 0 ? true : undefined));
    await before.close();
    const doc = await stored();
    const crashed = {
      ...doc,
      state: "Execute",
      callback: null,
      data: { ...doc.data, decision: { outcome: "approved" } },
      attempt: 1,
    };
    await writeFile(join(directory, `${INPUT.approvalId}.json`), JSON.stringify(crashed));
    const second = fakeTasks();
    await open(second.tasks);
    await eventually(async () => ((await stored()).status === "succeeded" ? true : undefined));
    expect(second.count("execute-approved")).toBe(1);
    expect(second.count("notify-approvers")).toBe(0);
  });

  it("keeps only running executions: a stopped one moves to stopped/ and its name never starts again", async () => {
    const running = join(directory, `${INPUT.approvalId}.json`);
    const stopped = join(directory, "stopped", `${INPUT.approvalId}.json`);
    const fake = fakeTasks();
    const { runner, token } = await startWaiting(fake);
    await runner.sendTaskSuccess(token, { outcome: "approved" });
    await eventually(async () => ((await exists(stopped)) && !(await exists(running)) ? true : undefined));
    expect(await stored()).toMatchObject({ status: "succeeded", state: "Done" });

    await runner.start(INPUT);
    expect(await exists(running)).toBe(false);
    await runner.close();
    const again = fakeTasks();
    const reopened = await open(again.tasks);
    await reopened.start(INPUT);
    // start() persists before it returns, so a started execution would be on disk by now.
    expect(await exists(running)).toBe(false);
    expect(again.calls).toEqual([]);
  });

  it("moves a stopped execution a crash left among the running ones when it opens, and does not run it", async () => {
    const fake = fakeTasks();
    const { runner, token } = await startWaiting(fake);
    await runner.sendTaskFailure(token, "phigate.ApprovalDenied", "denied");
    const stopped = join(directory, "stopped", `${INPUT.approvalId}.json`);
    const running = join(directory, `${INPUT.approvalId}.json`);
    await eventually(async () => ((await exists(stopped)) ? true : undefined));
    await runner.close();
    // What a stop between the last write and the move leaves: the stopped document among the running ones.
    await rename(stopped, running);

    const again = fakeTasks();
    await open(again.tasks);
    expect(await exists(running)).toBe(false);
    expect(await exists(stopped)).toBe(true);
    expect(again.calls).toEqual([]);
  });
});
