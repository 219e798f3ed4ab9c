// Every task of the approval workflow by name: the approval's own and the query's execution of an approved statement.

import type { ApprovalTaskDeps } from "#shared/approval/deps.ts";
import { closeDeniedTask, closeExpiredTask, closeFailedTask } from "#shared/approval/tasks/close-approval.ts";
import { notifyApproversTask } from "#shared/approval/tasks/notify-approvers.ts";
import { planWaitTask } from "#shared/approval/tasks/plan-wait.ts";
import type { TaskDeclaration } from "#shared/approval/tasks/task-declaration.ts";
import type { TaskHandler } from "#shared/approval/tasks/task-input.ts";
import { TASK_NAMES, type TaskName } from "#shared/approval/workflow-description.ts";
import { executeApprovedTask } from "#shared/query/execute-approved.ts";

/**
 * The declaration of each task the approval states name; the compiler checks every name has its own. The local
 * runner binds them; the AWS function list and IAM read them.
 */
export const WORKFLOW_TASKS: {
  readonly [T in TaskName]: TaskDeclaration<TaskDeclaration["capabilities"], T>;
} = {
  "plan-wait": planWaitTask,
  "notify-approvers": notifyApproversTask,
  "execute-approved": executeApprovedTask,
  "close-denied": closeDeniedTask,
  "close-expired": closeExpiredTask,
  "close-failed": closeFailedTask,
};

/** Every task of the approval states, bound to its dependencies. */
export function createApprovalTasks(deps: ApprovalTaskDeps): Readonly<Record<TaskName, TaskHandler>> {
  return Object.fromEntries(
    TASK_NAMES.map((task) => [task, (payload: unknown) => WORKFLOW_TASKS[task].run(deps, payload)]),
  ) as Record<TaskName, TaskHandler>;
}
