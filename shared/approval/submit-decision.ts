// The one decision path (approver page and API): check the rules, append once, record on the session, wake the workflow.

import { isVersionConflict, NotFoundError } from "#shared/errors.ts";
import { type Principal, principalLabel } from "#shared/identity/principal.ts";
import { errorFields } from "#shared/log.ts";
import { hasRole } from "#shared/policy/roles.ts";
import { APPROVAL_ID_PATTERN, type ApprovalState, type ApprovalStatus } from "./approval-request.ts";
import { checkDecision, type DecisionRequest } from "./decision-rules.ts";
import type { ApprovalDeps } from "./deps.ts";
import { recordedApprovals, updateSessionRecord } from "./session-updates.ts";

/** What a decision produced. */
export interface DecisionResult {
  readonly approvalId: string;
  readonly sessionId: string;
  readonly decision: "approve" | "deny";
  /** The approval's status after this decision (`pending` while a quorum is still short). */
  readonly status: ApprovalStatus;
  readonly approvals: number;
  readonly quorum: number;
}

const MAX_ATTEMPTS = 8;

/** Loads an approval by id, or throws `NotFoundError` (a malformed id is simply unknown). */
export async function loadApproval(deps: ApprovalDeps, approvalId: string): Promise<ApprovalState> {
  const state = APPROVAL_ID_PATTERN.test(approvalId) ? await deps.approvals.get(approvalId) : undefined;
  if (state === undefined) throw new NotFoundError("no such approval request");
  return state;
}

/** Whether the principal holds the approvers role under the policy in force. */
export function isApprover(deps: ApprovalDeps, principal: Principal): boolean {
  return hasRole(deps.policy.current(), principal, "approvers", deps.policy.context);
}

async function append(
  deps: ApprovalDeps,
  approver: Principal,
  approvalId: string,
  request: DecisionRequest & { via: "page" | "api" },
): Promise<ApprovalState> {
  for (let attempt = 1; ; attempt++) {
    const state = await loadApproval(deps, approvalId);
    const now = deps.clock.now();
    const status = checkDecision({ state, approver, isApprover: isApprover(deps, approver), now }, request);
    try {
      return await deps.approvals.appendDecision(approvalId, {
        expectedVersion: state.version,
        status,
        at: now,
        decision: {
          approver: principalLabel(approver),
          approverKey: approver.key,
          issuer: approver.issuer,
          subject: approver.subject,
          decision: request.decision,
          at: now.toISOString(),
          comment: request.comment,
          // What the approver was shown when they sent it (checkDecision refused any other), else the approval's.
          binding: request.binding ?? state.binding,
          via: request.via,
        },
      });
    } catch (error) {
      if (!isVersionConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/** Tells the waiting workflow: task success on a final decision, a heartbeat on progress toward a quorum. */
async function signalWorkflow(deps: ApprovalDeps, state: ApprovalState): Promise<void> {
  if (state.taskToken === null) return;
  try {
    if (state.status === "approved" || state.status === "denied")
      await deps.workflow.sendTaskSuccess(state.taskToken, { outcome: state.status });
    else await deps.workflow.sendTaskHeartbeat(state.taskToken);
  } catch (error) {
    deps.logger.warn("could not signal the approval workflow; it reconciles from the approval store", {
      approvalId: state.approvalId,
      ...errorFields(error),
    });
  }
}

/**
 * Decides on an approval for `approver` (see `checkDecision` for the rules and their errors). The decision is
 * appended to the approval with a conditional write (once per approver), then to the session record's
 * `approvals`; a final decision completes the workflow's waiting task.
 */
export async function submitDecision(
  deps: ApprovalDeps,
  approver: Principal,
  approvalId: string,
  request: DecisionRequest & { via: "page" | "api" },
): Promise<DecisionResult> {
  const state = await append(deps, approver, approvalId, request);
  try {
    await updateSessionRecord(deps, state.sessionId, (record) =>
      record.approvals.length >= state.decisions.length
        ? undefined
        : {
            ...record,
            version: record.version + 1,
            updatedAt: deps.clock.now().toISOString(),
            approvals: recordedApprovals(state),
          },
    );
  } catch (error) {
    deps.logger.error(
      "could not add a decision to the session record; the workflow copies it when it closes",
      {
        approvalId,
        sessionId: state.sessionId,
        ...errorFields(error),
      },
    );
  }
  await signalWorkflow(deps, state);
  deps.logger.info("approval decision recorded", {
    approvalId,
    sessionId: state.sessionId,
    approver: approver.key,
    decision: request.decision,
    status: state.status,
    via: request.via,
  });
  return {
    approvalId,
    sessionId: state.sessionId,
    decision: request.decision,
    status: state.status,
    approvals: state.decisions.filter((d) => d.decision === "approve").length,
    quorum: state.quorum,
  };
}
