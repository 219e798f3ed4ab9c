// Task `execute-approved`: run the recorded statement once through the shared execute → mask → record path.

import type { ApprovalState } from "#shared/approval/approval-request.ts";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { recordedApprovals, updateSessionRecord } from "#shared/approval/session-updates.ts";
import { loadApproval } from "#shared/approval/submit-decision.ts";
import { defineTask } from "#shared/approval/tasks/task-declaration.ts";
import { taskDataSchema } from "#shared/approval/tasks/task-input.ts";
import { ConflictError, PhigateError } from "#shared/errors.ts";
import { errorFields } from "#shared/log.ts";
import { executeSession } from "#shared/query/execute-session.ts";
import { failSession } from "#shared/sessions/fail-session.ts";
import { TERMINAL_STATUSES, transition } from "#shared/sessions/record.ts";
import { prepareExecution } from "./prepare-execution.ts";

/** Marks the approval executed and closes it, forgetting its raw parameters (both idempotent). */
async function finish(deps: ApprovalDeps, state: ApprovalState): Promise<void> {
  try {
    await deps.approvals.transition(state.approvalId, ["approved"], "executed", deps.clock.now());
  } catch (error) {
    if (!(error instanceof ConflictError && error.code === "status_conflict")) throw error;
  }
  await deps.approvals.close(state.approvalId, deps.clock.now());
}

/** Ends an approval that must not run (failed, idempotently) and forgets its raw parameters. */
async function refuse(deps: ApprovalDeps, state: ApprovalState): Promise<void> {
  try {
    await deps.approvals.transition(state.approvalId, ["pending", "approved"], "failed", deps.clock.now());
  } catch (error) {
    if (!(error instanceof ConflictError && error.code === "status_conflict")) throw error;
  }
  await deps.approvals.close(state.approvalId, deps.clock.now());
}

/**
 * Runs an approved session exactly once. The write-ahead move `approved → running` is a conditional write on the
 * record's version: whoever wins it runs the statement; a session found `running` (an attempt died mid-run) is
 * failed closed with `execution_interrupted` rather than run again; a terminal session is left as it is.
 * Verification failures (see `prepareExecution`) are recorded as the session's failure. The session is the one
 * the approval names, and its record must name this approval: otherwise nothing runs and the approval fails.
 * Store failures before the write-ahead move propagate, so the workflow retries.
 */
export async function executeApproved(deps: ApprovalDeps, payload: unknown): Promise<{ status: string }> {
  const { approvalId, sessionId: given } = taskDataSchema.parse(payload);
  const state = await loadApproval(deps, approvalId);
  // The approval names the session it was granted for; the workflow's input only carries a copy of that id.
  const sessionId = state.sessionId;
  if (given !== sessionId) {
    deps.logger.warn("the workflow names another session than its approval; the approval's is used", {
      approvalId,
      sessionId,
      workflowSessionId: given,
    });
  }
  let record = await updateSessionRecord(deps, sessionId, (current) =>
    current.approval?.id === approvalId &&
    current.status === "pending_approval" &&
    state.status === "approved"
      ? transition(current, "approved", deps.clock.now(), { approvals: recordedApprovals(state) })
      : undefined,
  );
  if (record.approval?.id !== approvalId) {
    // The record waits on another approval (or none): this one grants nothing there. Fail closed: nothing runs,
    // the session is left to its own approval, this approval ends failed with its parameters erased.
    deps.logger.error("approval does not match its session's record; the statement is not run", {
      approvalId,
      sessionId,
      recordApprovalId: record.approval?.id ?? null,
    });
    await refuse(deps, state);
    return { status: "failed" };
  }
  if (TERMINAL_STATUSES.has(record.status)) {
    await finish(deps, state);
    return { status: record.status };
  }
  if (record.status === "running") {
    await failSession(
      deps,
      record,
      new ConflictError(
        "execution_interrupted",
        "the approved execution was interrupted; it is never run twice",
      ),
    );
    await finish(deps, state);
    return { status: "failed" };
  }
  if (record.status !== "approved" || (state.status !== "approved" && state.status !== "executed")) {
    await failSession(
      deps,
      record,
      new ConflictError("approval_not_granted", "the statement was not approved"),
    );
    return { status: "failed" };
  }
  let prepared: Awaited<ReturnType<typeof prepareExecution>>;
  try {
    prepared = await prepareExecution(deps, state, record);
  } catch (error) {
    if (!(error instanceof PhigateError) || error.status >= 500) throw error;
    deps.logger.warn("approved statement refused before running", {
      sessionId,
      approvalId,
      code: error.code,
    });
    await failSession(deps, record, error);
    await finish(deps, state);
    return { status: "failed" };
  }
  record = await deps.sessions.update(transition(record, "running", deps.clock.now()));
  try {
    await executeSession(deps, record, prepared.analyzed, { params: prepared.params }, prepared.masking);
  } catch (error) {
    deps.logger.warn("approved statement failed (recorded on the session)", {
      sessionId,
      ...errorFields(error),
    });
  }
  await finish(deps, state);
  const final = await deps.sessions.get(sessionId);
  deps.logger.info("approved statement executed", {
    sessionId,
    approvalId,
    status: final?.status ?? "unknown",
  });
  return { status: final?.status ?? "unknown" };
}

/** The `execute-approved` task: it runs SQL (the Data API on AWS) and so analyzes it with the parser. */
export const executeApprovedTask = defineTask({
  task: "execute-approved",
  needsParser: true,
  capabilities: {
    database: true,
    keys: true,
    sessions: "write",
    results: "write",
    approvals: "write",
    policyArchive: "write",
  },
  run: executeApproved,
});
