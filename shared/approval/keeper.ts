// The token holder's sweep: heartbeats for waiting approvals, and decided ones whose signal to the workflow was lost.

import { ConflictError } from "#shared/errors.ts";
import { errorFields } from "#shared/log.ts";
import type { ApprovalDeps } from "./deps.ts";
import { APPROVAL_EXPIRED_ERROR } from "./workflow-description.ts";

/**
 * One pass over the open approvals: a pending one with a task token gets a heartbeat (the waiting task knows
 * its token holder is alive), or `phigate.ApprovalExpired` once its expiry has passed; an approved or denied one gets
 * its task success again (idempotent: a task that has already moved on answers `task_not_open`). Run it every
 * fraction of `HEARTBEAT_SECONDS` and once at start.
 */
export async function sweepApprovals(
  deps: ApprovalDeps,
  signal?: AbortSignal,
): Promise<{ heartbeats: number; resent: number }> {
  let heartbeats = 0;
  let resent = 0;
  for (const state of await deps.approvals.listOpen()) {
    // A host that is stopping ends the sweep between approvals; the next sweep after a restart picks up the rest.
    if (signal?.aborted === true) break;
    const token = state.taskToken;
    if (token === null) continue;
    try {
      if (state.status === "pending" && deps.clock.now().getTime() >= Date.parse(state.expiresAt)) {
        await deps.workflow.sendTaskFailure(token, APPROVAL_EXPIRED_ERROR, "the approval request expired");
        resent++;
      } else if (state.status === "pending") {
        await deps.workflow.sendTaskHeartbeat(token);
        heartbeats++;
      } else if (state.status === "approved" || state.status === "denied") {
        await deps.workflow.sendTaskSuccess(token, { outcome: state.status });
        resent++;
      }
    } catch (error) {
      if (error instanceof ConflictError && error.code === "task_not_open") continue;
      deps.logger.warn("approval sweep could not signal the workflow", {
        approvalId: state.approvalId,
        ...errorFields(error),
      });
    }
  }
  return { heartbeats, resent };
}
