// The task handlers of the approval workflow by task name: what the local runner calls and AWS wraps in Lambdas.

import type { ApprovalTaskDeps } from "#shared/approval/deps.ts";
import type { TaskName } from "#shared/approval/workflow-description.ts";
import { closeDenied, closeExpired, closeFailed } from "./close-approval.ts";
import { executeApproved } from "./execute-approved.ts";
import { notifyApprovers } from "./notify-approvers.ts";
import { planWait } from "./plan-wait.ts";
import type { TaskHandler } from "./task-input.ts";

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
