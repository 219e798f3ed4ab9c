// The decision rules, as one pure function: separation of duties, approver role, expiry, once per approver, binding, quorum.

import { ConflictError, ForbiddenError, GoneError } from "#shared/errors.ts";
import { type Principal, samePerson } from "#shared/identity/principal.ts";
import type { ApprovalState, ApprovalStatus } from "./approval-request.ts";

/** One decision as an approver submits it. */
export interface DecisionRequest {
  readonly decision: "approve" | "deny";
  readonly comment: string | null;
  /** The binding digest the approver was shown; a mismatch is refused. */
  readonly binding?: string | undefined;
}

/** What the rules look at. */
export interface DecisionContext {
  readonly state: ApprovalState;
  readonly approver: Pick<Principal, "key" | "subject">;
  /** Whether the approver holds the policy's `approvers` role. */
  readonly isApprover: boolean;
  readonly now: Date;
}

/** Whether a principal is the requester: the same principal key, or the same subject under another issuer. */
export function isRequester(state: ApprovalState, who: Pick<Principal, "key" | "subject">): boolean {
  return samePerson(who, state.requester);
}

/**
 * Checks a decision and returns the status the approval moves to (`pending` while a quorum is not reached yet).
 * Throws, in this order: `403 self_approval` (the requester, by key or by subject across issuers),
 * `403 not_an_approver`, `410 expired`, `409 already_decided` (the request is closed, or this approver — by key or
 * subject — already decided), `409 binding_mismatch`. Any deny ends the request; N distinct approvals reach quorum N.
 */
export function checkDecision(context: DecisionContext, request: DecisionRequest): ApprovalStatus {
  const { state, approver, now } = context;
  if (isRequester(state, approver)) {
    throw new ForbiddenError("self_approval", "the requester can never approve its own request");
  }
  if (!context.isApprover) {
    throw new ForbiddenError("not_an_approver", "you are not an approver under the policy in force");
  }
  if (
    state.status === "expired" ||
    (state.status === "pending" && now.getTime() >= Date.parse(state.expiresAt))
  ) {
    throw new GoneError("expired", "this approval request has expired");
  }
  if (state.status !== "pending") {
    throw new ConflictError("already_decided", `this approval request is already ${state.status}`);
  }
  if (state.decisions.some((d) => samePerson({ key: d.approverKey, subject: d.subject }, approver))) {
    throw new ConflictError("already_decided", "you have already decided on this request");
  }
  if (request.binding !== undefined && request.binding !== state.binding) {
    throw new ConflictError(
      "binding_mismatch",
      "the statement, parameters or requester differ from what this decision was made for",
    );
  }
  if (request.decision === "deny") return "denied";
  const approvals = state.decisions.filter((d) => d.decision === "approve").length + 1;
  return approvals >= state.quorum ? "approved" : "pending";
}
