// The closing tasks: each records its outcome on the session with its error, erases the approval's parameters, and logs once.
import { describe, expect, it } from "vitest";
import type { ApprovalState, ApprovalStatus } from "#shared/approval/approval-request.ts";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { closeDenied, closeExpired, closeFailed } from "#shared/approval/tasks/close-approval.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { APPROVAL_ID, APPROVAL_NOW, pendingApproval } from "#test/support/approval-state.ts";
import { sampleRecord } from "#test/support/records.ts";

/** Approval and session stores in memory, and the log lines written. */
function fakeDeps() {
  let approval: ApprovalState = pendingApproval();
  let session: SessionRecord = {
    ...sampleRecord({}, APPROVAL_NOW),
    sessionId: approval.sessionId,
    status: "pending_approval",
  };
  const closed: string[] = [];
  const lines: [string, string, unknown][] = [];
  const log = (level: string) => (message: string, fields?: unknown) => lines.push([level, message, fields]);
  const deps = {
    clock: { now: () => APPROVAL_NOW },
    logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    approvals: {
      get: async () => approval,
      transition: async (_id: string, from: readonly ApprovalStatus[], to: ApprovalStatus) => {
        if (from.includes(approval.status)) approval = { ...approval, status: to };
      },
      close: async (id: string) => {
        closed.push(id);
      },
    },
    sessions: {
      get: async () => session,
      update: async (next: SessionRecord) => {
        session = next;
        return next;
      },
    },
  } as unknown as ApprovalDeps;
  return { deps, closed, lines, session: () => session };
}

describe("closing an approval", () => {
  it.each([
    ["denied", closeDenied, 403, "approval_denied", "info"],
    ["expired", closeExpired, 410, "approval_expired", "info"],
    ["failed", closeFailed, 503, "approval_workflow_failed", "error"],
  ] as const)(
    "records the session %s with its error, closes the approval, logs once",
    async (status, run, code, errorCode, level) => {
      const fake = fakeDeps();
      await run(fake.deps, { approvalId: APPROVAL_ID, sessionId: fake.session().sessionId });
      expect(fake.session().status).toBe(status);
      expect(fake.session().error).toMatchObject({ code: errorCode, status: code });
      expect(fake.closed).toEqual([APPROVAL_ID]);
      expect(fake.lines).toHaveLength(1);
      expect(fake.lines[0]?.[0]).toBe(level);
      expect(fake.lines[0]?.[2]).toEqual({ approvalId: APPROVAL_ID, sessionId: fake.session().sessionId });
    },
  );
});
