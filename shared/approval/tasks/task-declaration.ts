// A workflow task declared once, beside its logic: which task of the approval states it is, what it uses, its code.

import type { ApprovalTaskDeps } from "#shared/approval/deps.ts";
import type { TaskName } from "#shared/approval/workflow-description.ts";
import type { Capabilities, EntryDeclaration } from "#shared/capabilities.ts";

/**
 * One task of the approval workflow. The local runner calls `run`; on AWS its Lambda entry
 * (`functions/task-<name>.ts`) composes it, and the state machine invokes that function.
 */
export interface TaskDeclaration<C extends Capabilities = Capabilities, T extends TaskName = TaskName>
  extends EntryDeclaration<C> {
  readonly task: T;
  /** The task's logic: the state payload in (or `{input, taskToken}` for a callback task), the task result out. */
  readonly run: (deps: ApprovalTaskDeps, payload: unknown) => Promise<unknown>;
}

/** The function id of a workflow task (`task-<name>`). */
export function taskFunctionId(task: TaskName): `task-${TaskName}` {
  return `task-${task}`;
}

/** Declares a task (its id is `task-<name>`; the capabilities' literal types are kept for the entry's parts). */
export function defineTask<const C extends Capabilities, const T extends TaskName>(
  task: Omit<TaskDeclaration<C, T>, "id">,
): TaskDeclaration<C, T> {
  return { ...task, id: taskFunctionId(task.task) };
}
