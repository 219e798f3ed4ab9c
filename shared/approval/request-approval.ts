// Opens an approval for a recorded `pending_approval` session: the request with its raw parameters, then the workflow.

import { randomBytes } from "node:crypto";
import { newOpaqueId } from "#shared/ids.ts";
import { errorFields } from "#shared/log.ts";
import { admissionKeyOf } from "#shared/policy/admission-key.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { SqlParam } from "#shared/ports.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { genericStatement } from "#shared/sql/generic-statement.ts";
import { APPROVAL_STATE_SCHEMA, type ApprovalState } from "./approval-request.ts";
import { recordBinding } from "./binding.ts";
import type { ApprovalDeps } from "./deps.ts";

/** The body of a `202` answer (contract §2). */
export interface PendingApprovalBody {
  readonly sessionId: string;
  readonly status: "pending_approval";
  readonly approval: { readonly id: string; readonly expiresAt: string; readonly reasons: readonly string[] };
}

/** The approvers' quorum under a policy, or undefined when the policy names no approvers (nobody could approve). */
export function approverQuorum(policy: LoadedPolicy): number | undefined {
  return policy.document.roles.approvers?.quorum;
}

/**
 * The record's `approval` block for a new request: a fresh unguessable id, the expiry from the policy's TTL, the
 * quorum, the binding over what was recorded, and the planner's estimate (asked now if no risk rule asked).
 */
export async function approvalBlock(
  deps: ApprovalDeps,
  record: SessionRecord,
  quorum: number,
  params: readonly SqlParam[],
  statement: string,
): Promise<NonNullable<SessionRecord["approval"]>> {
  const ttlSeconds = deps.policy.current().document.approval.ttlSeconds;
  let estimatedRows = record.decision.estimatedRows ?? null;
  if (estimatedRows === null) {
    estimatedRows = await Promise.resolve()
      .then(() => {
        const generic = genericStatement(statement, params.length);
        if (generic === undefined) return null;
        return deps.executor.estimateRows(
          generic,
          5_000,
          admissionKeyOf(record.decision.matchedPrincipal, record.principal.key),
        );
      })
      .catch((error: unknown) => {
        deps.logger.warn("could not estimate rows for an approval", errorFields(error));
        return null;
      });
  }
  return {
    id: newOpaqueId("apr"),
    expiresAt: new Date(deps.clock.now().getTime() + ttlSeconds * 1000).toISOString(),
    quorum,
    binding: recordBinding(record),
    estimatedRows,
    // Withheld from the requester with the estimate, as the decision's salt is: the record's digest must not
    // confirm a guessed estimate (an estimate asked here is one no rule asked, so the decision has no salt).
    ...(estimatedRows === null ? {} : { estimateSalt: randomBytes(16).toString("hex") }),
  };
}

/** The `202` body of a recorded pending session. */
export function pendingBody(record: SessionRecord): PendingApprovalBody {
  const approval = record.approval;
  if (approval === null) throw new TypeError("the session has no approval");
  return {
    sessionId: record.sessionId,
    status: "pending_approval",
    approval: { id: approval.id, expiresAt: approval.expiresAt, reasons: record.decision.reasons },
  };
}

/**
 * Stores the approval request (with the raw parameters the statement will run with; the record keeps only their
 * keyed digests) and starts its workflow. Failures propagate: the caller fails the session closed.
 */
export async function openApproval(
  deps: ApprovalDeps,
  record: SessionRecord,
  params: readonly SqlParam[],
): Promise<PendingApprovalBody> {
  const approval = record.approval;
  if (approval === null) throw new TypeError("the session has no approval");
  const now = deps.clock.now().toISOString();
  const state: ApprovalState = {
    schema: APPROVAL_STATE_SCHEMA,
    approvalId: approval.id,
    sessionId: record.sessionId,
    version: 1,
    status: "pending",
    createdAt: now,
    updatedAt: now,
    expiresAt: approval.expiresAt,
    quorum: approval.quorum,
    binding: approval.binding,
    requester: {
      key: record.principal.key,
      issuer: record.principal.issuer,
      subject: record.principal.subject,
    },
    reasons: record.decision.reasons,
    params: params.map((p) => (p === null || typeof p !== "object" ? p : [...p])),
    decisions: [],
    taskToken: null,
    notifiedAt: null,
    decidedAt: null,
    closedAt: null,
  };
  await deps.approvals.create(state);
  await deps.workflow.start({ approvalId: approval.id, sessionId: record.sessionId });
  deps.logger.info("approval requested", {
    approvalId: approval.id,
    sessionId: record.sessionId,
    quorum: approval.quorum,
    expiresAt: approval.expiresAt,
    binding: approval.binding,
  });
  return pendingBody(record);
}
