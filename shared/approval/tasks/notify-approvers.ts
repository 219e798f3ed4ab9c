// Callback task `notify-approvers`: keep the task token with the approval, notify approvers once, or finish at once.

import type { ApprovalState } from "#shared/approval/approval-request.ts";
import type { ApprovalTaskDeps } from "#shared/approval/deps.ts";
import { buildNotice } from "#shared/approval/notice.ts";
import { loadApproval } from "#shared/approval/submit-decision.ts";
import { APPROVAL_EXPIRED_ERROR } from "#shared/approval/workflow-description.ts";
import { ConflictError } from "#shared/errors.ts";
import { principalName } from "#shared/identity/principal.ts";
import { errorFields } from "#shared/log.ts";
import type { DecisionOutput } from "#shared/ports.ts";
import { defineTask } from "./task-declaration.ts";
import { callbackPayloadSchema } from "./task-input.ts";

/** The outcome a closed approval already has, or undefined while it is pending. */
export function settledOutcome(state: ApprovalState): DecisionOutput["outcome"] | undefined {
  if (state.status === "approved" || state.status === "executed") return "approved";
  if (state.status === "denied") return "denied";
  if (state.status === "expired" || state.status === "failed") return "expired";
  return undefined;
}

/** Fails the waiting task with `phigate.ApprovalExpired` (its catcher expires the approval). */
export async function expire(deps: Pick<ApprovalTaskDeps, "workflow">, token: string): Promise<void> {
  try {
    await deps.workflow.sendTaskFailure(token, APPROVAL_EXPIRED_ERROR, "the approval request expired");
  } catch (error) {
    if (!(error instanceof ConflictError && error.code === "task_not_open")) throw error;
  }
}

async function complete(deps: ApprovalTaskDeps, token: string, outcome: DecisionOutput["outcome"]) {
  try {
    await deps.workflow.sendTaskSuccess(token, { outcome });
  } catch (error) {
    if (!(error instanceof ConflictError && error.code === "task_not_open")) throw error;
  }
}

/**
 * Tells approvers who were never notified of a request that it was decided meanwhile (by whom, and how), once:
 * best effort, after the workflow moved on, so a notification failure never holds up the outcome.
 */
async function tellOutcome(
  deps: ApprovalTaskDeps,
  state: ApprovalState,
  taskToken: string,
): Promise<boolean> {
  const status = state.status === "executed" ? "approved" : state.status;
  if (state.notifiedAt !== null || (status !== "approved" && status !== "denied" && status !== "expired"))
    return false;
  try {
    const record = await deps.sessions.get(state.sessionId);
    if (record === undefined) return false;
    const by = state.decisions.map((d) => `${principalName(d)} (${d.decision})`);
    await deps.notifier.notify({ ...buildNotice(state, record, deps.publicUrl()), outcome: { status, by } });
    const at = deps.clock.now();
    await deps.approvals.setTask(state.approvalId, { taskToken, notifiedAt: at, at });
    deps.logger.info("approvers told the outcome of a request decided before they were notified", {
      approvalId: state.approvalId,
      outcome: status,
    });
    return true;
  } catch (error) {
    deps.logger.warn("approvers could not be told the outcome", {
      approvalId: state.approvalId,
      ...errorFields(error),
    });
    return false;
  }
}

/**
 * Stores the token (the decision path completes the task with it), sends the notification once per approval
 * (a re-planned wait only replaces the token), and completes the task itself when a decision landed before any
 * token was stored (approvers who were never asked are then told the outcome), or fails it as expired when the
 * expiry already passed. Idempotent: a retry with the same token
 * changes nothing.
 */
export async function notifyApprovers(
  deps: ApprovalTaskDeps,
  payload: unknown,
): Promise<{ notified: boolean }> {
  const { input, taskToken } = callbackPayloadSchema.parse(payload);
  let state = await loadApproval(deps, input.approvalId);
  const early = settledOutcome(state);
  if (early !== undefined) {
    await complete(deps, taskToken, early);
    return { notified: await tellOutcome(deps, state, taskToken) };
  }
  if (deps.clock.now().getTime() >= Date.parse(state.expiresAt)) {
    await expire(deps, taskToken);
    return { notified: false };
  }
  state = await deps.approvals.setTask(state.approvalId, { taskToken, at: deps.clock.now() });
  let notified = false;
  if (state.notifiedAt === null && state.status === "pending") {
    const record = await deps.sessions.get(state.sessionId);
    if (record === undefined)
      throw new ConflictError("session_missing", "the approval's session is not recorded");
    await deps.notifier.notify(buildNotice(state, record, deps.publicUrl()));
    const at = deps.clock.now();
    state = await deps.approvals.setTask(state.approvalId, { taskToken, notifiedAt: at, at });
    notified = true;
    deps.logger.info("approvers notified", { approvalId: state.approvalId, sessionId: state.sessionId });
  }
  const settled = settledOutcome(state);
  if (settled !== undefined) await complete(deps, taskToken, settled);
  return { notified };
}

/**
 * The `notify-approvers` task. It completes its own task when a decision landed before its token was stored (or fails
 * it once the approval expired), so it may signal the workflow too.
 */
export const notifyApproversTask = defineTask({
  task: "notify-approvers",
  needsParser: false,
  capabilities: { sessions: "read", approvals: "write", workflow: "signal", notify: true, publicUrl: true },
  run: notifyApprovers,
});
