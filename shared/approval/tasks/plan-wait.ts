// Task `plan-wait`: the seconds left before the approval expires, and a heartbeat interval shorter than that.

import { HEARTBEAT_SECONDS } from "#shared/approval/approval-workflow.ts";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { loadApproval } from "#shared/approval/submit-decision.ts";
import { defineTask } from "./task-declaration.ts";
import { taskDataSchema } from "./task-input.ts";

/** The wait plan (`$.wait`). */
export interface WaitPlan {
  readonly remainingSeconds: number;
  readonly heartbeatSeconds: number;
}

/** Plans the callback wait from the stored expiry (so a re-plan after a lapsed heartbeat keeps the same deadline). */
export async function planWait(deps: ApprovalDeps, payload: unknown): Promise<WaitPlan> {
  const { approvalId } = taskDataSchema.parse(payload);
  const state = await loadApproval(deps, approvalId);
  const left = Date.parse(state.expiresAt) - deps.clock.now().getTime();
  const remainingSeconds = Math.max(0, Math.ceil(left / 1000));
  return {
    remainingSeconds,
    heartbeatSeconds: Math.max(1, Math.min(HEARTBEAT_SECONDS, remainingSeconds - 1)),
  };
}

/** The `plan-wait` task. */
export const planWaitTask = defineTask({
  task: "plan-wait",
  needsParser: false,
  capabilities: { approvals: "read" },
  run: planWait,
});
