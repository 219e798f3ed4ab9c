// A stored approval request as the approval stores' tests start from: pending, quorum 2, no decisions yet.

import { APPROVAL_STATE_SCHEMA, type ApprovalState } from "#shared/approval/approval-request.ts";

export const APPROVAL_ID = "apr_0000000000000000000000000A";
/** When the approval was created; it expires an hour later. */
export const APPROVAL_NOW = new Date("2026-11-29T12:00:00Z");

/** A fresh pending approval holding `params` (the statement's parameters, erased when it closes). */
export function pendingApproval(
  params: NonNullable<ApprovalState["params"]> = ["123-45-6789", [1, 2]],
): ApprovalState {
  return {
    schema: APPROVAL_STATE_SCHEMA,
    approvalId: APPROVAL_ID,
    sessionId: "ses_00000000000000000000000000",
    version: 1,
    status: "pending",
    createdAt: APPROVAL_NOW.toISOString(),
    updatedAt: APPROVAL_NOW.toISOString(),
    expiresAt: "2026-11-29T13:00:00.000Z",
    quorum: 2,
    binding: "a".repeat(64),
    requester: { key: "https://ci.test#job", issuer: "https://ci.test", subject: "job" },
    reasons: ["risky"],
    params,
    decisions: [],
    taskToken: null,
    notifiedAt: null,
    decidedAt: null,
    closedAt: null,
  };
}
