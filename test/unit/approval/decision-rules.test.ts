// The decision rules as one pure function: separation of duties, role, expiry, once per approver, binding, quorum.

import { describe, expect, it } from "vitest";
import { APPROVAL_STATE_SCHEMA, type ApprovalState } from "#shared/approval/approval-request.ts";
import { checkDecision, type DecisionRequest } from "#shared/approval/decision-rules.ts";

const NOW = new Date("2026-11-29T12:00:00Z");
const BINDING = "a".repeat(64);

function state(overrides: Partial<ApprovalState> = {}): ApprovalState {
  return {
    schema: APPROVAL_STATE_SCHEMA,
    approvalId: "apr_0000000000000000000000000A",
    sessionId: "ses_00000000000000000000000000",
    version: 1,
    status: "pending",
    createdAt: "2026-11-29T11:30:00.000Z",
    updatedAt: "2026-11-29T11:30:00.000Z",
    expiresAt: "2026-11-29T12:30:00.000Z",
    quorum: 1,
    binding: BINDING,
    requester: { key: "https://ci.test#repo:acme/r", issuer: "https://ci.test", subject: "repo:acme/r" },
    reasons: ["risky"],
    params: [],
    decisions: [],
    taskToken: null,
    notifiedAt: null,
    decidedAt: null,
    closedAt: null,
    ...overrides,
  };
}

const alice = { key: "https://idp.test#alice", subject: "alice" };
const bob = { key: "https://idp.test#bob", subject: "bob" };
const approve: DecisionRequest = { decision: "approve", comment: null };

function decided(who: typeof alice, decision: "approve" | "deny" = "approve") {
  return {
    approver: who.subject,
    approverKey: who.key,
    issuer: "https://idp.test",
    subject: who.subject,
    decision,
    at: "2026-11-29T11:45:00.000Z",
    comment: null,
    binding: BINDING,
    via: "api" as const,
  };
}

function code(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return `${(error as { status: number }).status} ${(error as { code: string }).code}`;
  }
}

describe("checkDecision", () => {
  it("approves with quorum 1 and denies with any deny", () => {
    expect(checkDecision({ state: state(), approver: alice, isApprover: true, now: NOW }, approve)).toBe(
      "approved",
    );
    expect(
      checkDecision(
        { state: state(), approver: alice, isApprover: true, now: NOW },
        { decision: "deny", comment: "no" },
      ),
    ).toBe("denied");
  });

  it("never lets the requester decide: same key, or same subject under another issuer — before the role check", () => {
    const requester = { key: "https://ci.test#repo:acme/r", subject: "repo:acme/r" };
    const sameSubject = { key: "https://other.test#repo:acme/r", subject: "repo:acme/r" };
    expect(
      code(() =>
        checkDecision({ state: state(), approver: requester, isApprover: false, now: NOW }, approve),
      ),
    ).toBe("403 self_approval");
    expect(
      code(() =>
        checkDecision({ state: state(), approver: sameSubject, isApprover: true, now: NOW }, approve),
      ),
    ).toBe("403 self_approval");
  });

  it("refuses non-approvers", () => {
    expect(
      code(() => checkDecision({ state: state(), approver: alice, isApprover: false, now: NOW }, approve)),
    ).toBe("403 not_an_approver");
  });

  it("answers 410 once the expiry has passed, even before the workflow expired it", () => {
    const atExpiry = new Date("2026-11-29T12:30:00Z");
    expect(
      code(() =>
        checkDecision({ state: state(), approver: alice, isApprover: true, now: atExpiry }, approve),
      ),
    ).toBe("410 expired");
    expect(
      code(() =>
        checkDecision(
          { state: state({ status: "expired" }), approver: alice, isApprover: true, now: NOW },
          approve,
        ),
      ),
    ).toBe("410 expired");
  });

  it("answers 409 already_decided for a closed request and for the same approver twice (by key or subject)", () => {
    expect(
      code(() =>
        checkDecision(
          { state: state({ status: "approved" }), approver: alice, isApprover: true, now: NOW },
          approve,
        ),
      ),
    ).toBe("409 already_decided");
    const half = state({ quorum: 2, decisions: [decided(alice)] });
    expect(
      code(() => checkDecision({ state: half, approver: alice, isApprover: true, now: NOW }, approve)),
    ).toBe("409 already_decided");
    const aliceElsewhere = { key: "https://corp.test#alice", subject: "alice" };
    expect(
      code(() =>
        checkDecision({ state: half, approver: aliceElsewhere, isApprover: true, now: NOW }, approve),
      ),
    ).toBe("409 already_decided");
  });

  it("counts distinct approvals toward the quorum", () => {
    const quorum2 = state({ quorum: 2 });
    expect(checkDecision({ state: quorum2, approver: alice, isApprover: true, now: NOW }, approve)).toBe(
      "pending",
    );
    const half = state({ quorum: 2, decisions: [decided(alice)] });
    expect(checkDecision({ state: half, approver: bob, isApprover: true, now: NOW }, approve)).toBe(
      "approved",
    );
  });

  it("refuses a decision bound to another binding, accepts the shown one", () => {
    const mismatch = { ...approve, binding: "b".repeat(64) };
    expect(
      code(() => checkDecision({ state: state(), approver: alice, isApprover: true, now: NOW }, mismatch)),
    ).toBe("409 binding_mismatch");
    expect(
      checkDecision(
        { state: state(), approver: alice, isApprover: true, now: NOW },
        { ...approve, binding: BINDING },
      ),
    ).toBe("approved");
  });
});
