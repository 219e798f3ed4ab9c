// Task execute-approved runs only the session its approval names, and only when that record names the approval.

import { describe, expect, it } from "vitest";
import type { ApprovalState, ApprovalStatus } from "#shared/approval/approval-request.ts";
import { APPROVAL_STATE_SCHEMA } from "#shared/approval/approval-request.ts";
import { recordBinding } from "#shared/approval/binding.ts";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { silentLogger } from "#shared/log.ts";
import { executeApproved } from "#shared/query/execute-approved.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { sampleRecord } from "#test/support/records.ts";

const APPROVAL_ID = `apr_${"A".repeat(26)}`;
const OTHER_APPROVAL_ID = `apr_${"B".repeat(26)}`;
const NOW = new Date("2026-03-01T10:00:00.000Z");

function approvalOf(record: SessionRecord, id = APPROVAL_ID) {
  return {
    id,
    expiresAt: "2026-03-01T11:00:00.000Z",
    quorum: 1,
    binding: recordBinding(record),
    estimatedRows: 1,
  };
}

function stateFor(record: SessionRecord): ApprovalState {
  return {
    schema: APPROVAL_STATE_SCHEMA,
    approvalId: APPROVAL_ID,
    sessionId: record.sessionId,
    version: 3,
    status: "approved",
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    expiresAt: "2026-03-01T11:00:00.000Z",
    quorum: 1,
    binding: recordBinding(record),
    requester: {
      key: record.principal.key,
      issuer: record.principal.issuer,
      subject: record.principal.subject,
    },
    reasons: ["needs review"],
    params: [],
    decisions: [],
    taskToken: null,
    notifiedAt: null,
    decidedAt: NOW.toISOString(),
    closedAt: null,
  };
}

/** Just the stores the task touches; anything past the checks (keys, analyzer, executor) is absent and would throw. */
function fakeDeps(state: ApprovalState, records: readonly SessionRecord[]) {
  const sessions = new Map(records.map((r) => [r.sessionId, r]));
  const log = { read: [] as string[], updated: [] as string[], moved: [] as ApprovalStatus[], closed: 0 };
  const deps = {
    clock: { now: () => NOW },
    logger: silentLogger,
    approvals: {
      get: async (id: string) => (id === state.approvalId ? state : undefined),
      transition: async (_id: string, _from: readonly ApprovalStatus[], to: ApprovalStatus) => {
        log.moved.push(to);
        return state;
      },
      close: async () => {
        log.closed++;
        return state;
      },
    },
    sessions: {
      get: async (id: string) => {
        log.read.push(id);
        return sessions.get(id);
      },
      update: async (record: SessionRecord) => {
        log.updated.push(record.sessionId);
        sessions.set(record.sessionId, record);
        return record;
      },
    },
  } as unknown as ApprovalDeps;
  return { deps, log };
}

describe("executeApproved", () => {
  it("refuses, fails closed and runs nothing when the session's record waits on another approval", async () => {
    const base = sampleRecord({ status: "pending_approval" }, NOW);
    const record = { ...base, approval: approvalOf(base, OTHER_APPROVAL_ID) };
    const { deps, log } = fakeDeps(stateFor(record), [record]);
    const result = await executeApproved(deps, { approvalId: APPROVAL_ID, sessionId: record.sessionId });
    expect(result).toEqual({ status: "failed" });
    expect(log.updated).toEqual([]);
    expect(log.moved).toEqual(["failed"]);
    expect(log.closed).toBe(1);
  });

  it("uses the session the approval names, not the one the workflow input names", async () => {
    const named = sampleRecord({ status: "completed" }, NOW);
    const approvalsSession = { ...named, approval: approvalOf(named) };
    const other = sampleRecord({ status: "pending_approval" }, NOW);
    const claimed = { ...other, approval: approvalOf(other) };
    const { deps, log } = fakeDeps(stateFor(approvalsSession), [approvalsSession, claimed]);
    const result = await executeApproved(deps, { approvalId: APPROVAL_ID, sessionId: claimed.sessionId });
    expect(result).toEqual({ status: "completed" });
    expect(log.read).toEqual([approvalsSession.sessionId]);
    expect(log.updated).toEqual([]);
  });
});
