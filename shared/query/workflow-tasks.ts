// The task handlers of the approval workflow by task name: what the local runner calls and AWS wraps in Lambdas.

import type { ApprovalTaskDeps } from "#shared/approval/deps.ts";
import { closeDenied, closeExpired, closeFailed } from "#shared/approval/tasks/close-approval.ts";
import { notifyApprovers } from "#shared/approval/tasks/notify-approvers.ts";
import { planWait } from "#shared/approval/tasks/plan-wait.ts";
import type { TaskHandler } from "#shared/approval/tasks/task-input.ts";
import type { TaskName } from "#shared/approval/workflow-description.ts";
import { executeApproved } from "./execute-approved.ts";

/** Every task of the approval states, bound to its dependencies. */
export function createApprovalTasks(deps: ApprovalTaskDeps): Readonly<Record<TaskName, TaskHandler>> {
  return {
    "plan-wait": (payload) => planWait(deps, payload),
    "notify-approvers": (payload) => notifyApprovers(deps, payload),
    "execute-approved": (payload) => executeApproved(deps, payload),
    "close-denied": (payload) => closeDenied(deps, payload),
    "close-expired": (payload) => closeExpired(deps, payload),
    "close-failed": (payload) => closeFailed(deps, payload),
  };
}
