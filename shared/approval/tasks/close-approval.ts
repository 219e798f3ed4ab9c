// Tasks `close-denied`, `close-expired` and `close-failed`: terminal outcomes recorded on the session, parameters erased.

import type { ApprovalStatus } from "#shared/approval/approval-request.ts";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { closeSession } from "#shared/approval/session-updates.ts";
import { loadApproval } from "#shared/approval/submit-decision.ts";
import { ConflictError } from "#shared/errors.ts";
import type { DecisionOutput } from "#shared/ports.ts";
import { settledOutcome } from "./notify-approvers.ts";
import { defineTask } from "./task-declaration.ts";
import { taskDataSchema } from "./task-input.ts";

async function moveOnce(
  deps: ApprovalDeps,
  approvalId: string,
  from: readonly ApprovalStatus[],
  to: ApprovalStatus,
): Promise<void> {
  try {
    await deps.approvals.transition(approvalId, from, to, deps.clock.now());
  } catch (error) {
    if (!(error instanceof ConflictError && error.code === "status_conflict")) throw error;
  }
}

/** Records the session `denied` with every decision (the deny was the approval's final decision). */
export async function closeDenied(deps: ApprovalDeps, payload: unknown): Promise<object> {
  const { approvalId } = taskDataSchema.parse(payload);
  const state = await loadApproval(deps, approvalId);
  await closeSession(deps, state, "denied", {
    code: "approval_denied",
    message: "an approver denied this statement",
    status: 403,
  });
  await deps.approvals.close(approvalId, deps.clock.now());
  deps.logger.info("approval denied; session closed", { approvalId, sessionId: state.sessionId });
  return {};
}

/**
 * Expires the approval (a conditional `pending → expired`). When a decision landed before the expiry but its
 * signal never reached the workflow, that decision stands and is routed instead (`$.decision.outcome`).
 */
export async function closeExpired(deps: ApprovalDeps, payload: unknown): Promise<DecisionOutput> {
  const { approvalId } = taskDataSchema.parse(payload);
  await moveOnce(deps, approvalId, ["pending"], "expired");
  const state = await loadApproval(deps, approvalId);
  const outcome = settledOutcome(state) ?? "expired";
  if (outcome !== "expired" || state.status === "failed") return { outcome };
  await closeSession(deps, state, "expired", {
    code: "approval_expired",
    message: "the approval request expired before a decision",
    status: 410,
  });
  await deps.approvals.close(approvalId, deps.clock.now());
  deps.logger.info("approval expired; session closed", { approvalId, sessionId: state.sessionId });
  return { outcome };
}

/** Fails the approval and its session closed: nothing runs. */
export async function closeFailed(deps: ApprovalDeps, payload: unknown): Promise<object> {
  const { approvalId } = taskDataSchema.parse(payload);
  await moveOnce(deps, approvalId, ["pending", "approved"], "failed");
  const state = await loadApproval(deps, approvalId);
  await closeSession(deps, state, "failed", {
    code: "approval_workflow_failed",
    message: "the approval workflow failed; nothing was run",
    status: 503,
  });
  await deps.approvals.close(approvalId, deps.clock.now());
  deps.logger.error("approval workflow failed; session failed closed", {
    approvalId,
    sessionId: state.sessionId,
  });
  return {};
}

/** The `close-denied` task. */
export const closeDeniedTask = defineTask({
  task: "close-denied",
  needsParser: false,
  capabilities: { sessions: "write", approvals: "write" },
  run: closeDenied,
});

/** The `close-expired` task. */
export const closeExpiredTask = defineTask({
  task: "close-expired",
  needsParser: false,
  capabilities: { sessions: "write", approvals: "write" },
  run: closeExpired,
});

/** The `close-failed` task. */
export const closeFailedTask = defineTask({
  task: "close-failed",
  needsParser: false,
  capabilities: { sessions: "write", approvals: "write" },
  run: closeFailed,
});
