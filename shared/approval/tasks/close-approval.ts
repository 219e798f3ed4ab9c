// Tasks `close-denied`, `close-expired` and `close-failed`: terminal outcomes recorded on the session, parameters erased.

import type { ApprovalState, ApprovalStatus } from "#shared/approval/approval-request.ts";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { closeSession } from "#shared/approval/session-updates.ts";
import { loadApproval } from "#shared/approval/submit-decision.ts";
import { ConflictError } from "#shared/errors.ts";
import type { DecisionOutput } from "#shared/ports.ts";
import { settledOutcome } from "./notify-approvers.ts";
import { defineTask, type TaskDeclaration } from "./task-declaration.ts";
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

/** How each terminal outcome closes the approval: the session's status and error, and the line logged. */
const CLOSINGS = {
  denied: {
    error: { code: "approval_denied", message: "an approver denied this statement", status: 403 },
    level: "info",
    line: "approval denied; session closed",
  },
  expired: {
    error: {
      code: "approval_expired",
      message: "the approval request expired before a decision",
      status: 410,
    },
    level: "info",
    line: "approval expired; session closed",
  },
  failed: {
    error: {
      code: "approval_workflow_failed",
      message: "the approval workflow failed; nothing was run",
      status: 503,
    },
    level: "error",
    line: "approval workflow failed; session failed closed",
  },
} as const;

/** Records the session closed with `outcome`, erases the approval's parameters, and logs it. */
async function closeWith(
  deps: ApprovalDeps,
  state: ApprovalState,
  outcome: keyof typeof CLOSINGS,
): Promise<void> {
  const closing = CLOSINGS[outcome];
  await closeSession(deps, state, outcome, closing.error);
  await deps.approvals.close(state.approvalId, deps.clock.now());
  deps.logger[closing.level](closing.line, { approvalId: state.approvalId, sessionId: state.sessionId });
}

/** Records the session `denied` with every decision (the deny was the approval's final decision). */
export async function closeDenied(deps: ApprovalDeps, payload: unknown): Promise<object> {
  const { approvalId } = taskDataSchema.parse(payload);
  await closeWith(deps, await loadApproval(deps, approvalId), "denied");
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
  await closeWith(deps, state, "expired");
  return { outcome };
}

/** Fails the approval and its session closed: nothing runs. */
export async function closeFailed(deps: ApprovalDeps, payload: unknown): Promise<object> {
  const { approvalId } = taskDataSchema.parse(payload);
  await moveOnce(deps, approvalId, ["pending", "approved"], "failed");
  await closeWith(deps, await loadApproval(deps, approvalId), "failed");
  return {};
}

/** A closing task: it writes the session and the approval, and needs no SQL parser. */
function closingTask<const T extends "close-denied" | "close-expired" | "close-failed">(
  task: T,
  run: TaskDeclaration["run"],
) {
  return defineTask({
    task,
    needsParser: false,
    capabilities: { sessions: "write", approvals: "write" },
    run,
  });
}

/** The `close-denied` task. */
export const closeDeniedTask = closingTask("close-denied", closeDenied);

/** The `close-expired` task. */
export const closeExpiredTask = closingTask("close-expired", closeExpired);

/** The `close-failed` task. */
export const closeFailedTask = closingTask("close-failed", closeFailed);
