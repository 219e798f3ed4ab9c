// Session record writes made on behalf of an approval: conditional on the version, retried on a concurrent change.

import { ConflictError, isVersionConflict } from "#shared/errors.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import {
  type SessionRecord,
  type SessionStatus,
  TERMINAL_STATUSES,
  transition,
} from "#shared/sessions/record.ts";
import type { ApprovalState } from "./approval-request.ts";

const MAX_ATTEMPTS = 8;

/**
 * Applies `change` to the latest version of a record and stores it; `change` returns undefined when there is
 * nothing to do. A concurrent write (`version_conflict`) re-reads and re-applies. Returns the stored version.
 */
export async function updateSessionRecord(
  deps: Pick<SessionDeps, "sessions">,
  sessionId: string,
  change: (record: SessionRecord) => SessionRecord | undefined,
): Promise<SessionRecord> {
  for (let attempt = 1; ; attempt++) {
    const record = await deps.sessions.get(sessionId);
    if (record === undefined)
      throw new ConflictError("session_missing", "the approval's session is not recorded");
    const next = change(record);
    if (next === undefined) return record;
    try {
      return await deps.sessions.update(next);
    } catch (error) {
      if (!isVersionConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/** The approval's decisions as the session record keeps them. */
export function recordedApprovals(state: ApprovalState): SessionRecord["approvals"] {
  return state.decisions.map((d) => ({
    approver: d.approver,
    approverKey: d.approverKey,
    decision: d.decision,
    at: d.at,
    comment: d.comment,
    binding: d.binding,
  }));
}

/**
 * Closes a session still waiting on its approval, with every decision; no-op once it is terminal. Only `failed`
 * closes a `running` session (an execution that died after its write-ahead record).
 */
export function closeSession(
  deps: Pick<SessionDeps, "sessions" | "clock">,
  state: ApprovalState,
  status: Extract<SessionStatus, "denied" | "expired" | "failed">,
  error: { code: string; message: string; status: number },
): Promise<SessionRecord> {
  return updateSessionRecord(deps, state.sessionId, (record) =>
    TERMINAL_STATUSES.has(record.status) || (record.status === "running" && status !== "failed")
      ? undefined
      : transition(record, status, deps.clock.now(), { approvals: recordedApprovals(state), error }),
  );
}
