// Reads a session for a caller: who may see it, what they see, and long-polling for a change of status.

import { NotFoundError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { SESSION_ID_PATTERN } from "#shared/ids.ts";
import { hasRole } from "#shared/policy/roles.ts";
import { stringifyJson, withJsonText } from "#shared/serialized-json.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import { type SessionRecord, TERMINAL_STATUSES } from "#shared/sessions/record.ts";
import { type CompletedResult, loadStoredResult } from "#shared/sessions/run-statement.ts";

/** The session as the contract shows it (`GET /v1/sessions/{id}`). */
export interface SessionView {
  readonly sessionId: string;
  readonly status: SessionRecord["status"];
  readonly principal: {
    readonly issuer: string;
    readonly subject: string;
    readonly groups: readonly string[];
    readonly claims: SessionRecord["principal"]["claims"];
  };
  readonly sql: string;
  readonly purpose: string | null;
  readonly classification: SessionRecord["classification"];
  readonly decision: Pick<SessionRecord["decision"], "outcome" | "reasons" | "rules" | "policy">;
  /** The approval request, when the statement needed one (its quorum and expiry: what a waiting client shows). */
  readonly approval?: { readonly id: string; readonly expiresAt: string; readonly quorum: number };
  readonly approvals: readonly { approver: string; decision: string; at: string; comment: string | null }[];
  readonly createdAt: string;
  readonly completedAt?: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly result?: CompletedResult;
}

/** Longest long-poll, seconds (contract: max 20). */
export const MAX_WAIT_SECONDS = 20;

/** How a caller relates to a session. */
export type SessionAccess = "requester" | "approver" | "auditor";

/** The caller's access to a record, or undefined when it has none (then the session "does not exist"). */
export function sessionAccess(
  deps: SessionDeps,
  principal: Principal,
  record: SessionRecord,
): SessionAccess | undefined {
  if (record.principal.key === principal.key) return "requester";
  const policy = deps.policy.current();
  if (hasRole(policy, principal, "auditors", deps.policy.context)) return "auditor";
  if (hasRole(policy, principal, "approvers", deps.policy.context) && record.approval !== null)
    return "approver";
  return undefined;
}

/** Loads a record the caller may see, or throws `NotFoundError` (unknown and not-yours look the same). */
export async function visibleRecord(
  deps: SessionDeps,
  principal: Principal,
  sessionId: string,
): Promise<{ record: SessionRecord; access: SessionAccess }> {
  const record = SESSION_ID_PATTERN.test(sessionId) ? await deps.sessions.get(sessionId) : undefined;
  const access = record === undefined ? undefined : sessionAccess(deps, principal, record);
  if (record === undefined || access === undefined) throw new NotFoundError("no such session");
  return { record, access };
}

async function waitForChange(
  deps: SessionDeps,
  record: SessionRecord,
  seconds: number,
): Promise<SessionRecord> {
  const deadline = Date.now() + seconds * 1000;
  let delay = 100;
  let current = record;
  while (
    !TERMINAL_STATUSES.has(current.status) &&
    current.status === record.status &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 1000);
    current = (await deps.sessions.get(record.sessionId)) ?? current;
  }
  return current;
}

/** `GET /v1/sessions/{id}[?wait=s]`: the requester gets the result; approvers and auditors the record only. */
export async function getSession(
  deps: SessionDeps,
  principal: Principal,
  sessionId: string,
  waitSeconds: number,
): Promise<SessionView> {
  const visible = await visibleRecord(deps, principal, sessionId);
  const record =
    waitSeconds > 0
      ? await waitForChange(deps, visible.record, Math.min(waitSeconds, MAX_WAIT_SECONDS))
      : visible.record;
  const view: SessionView = {
    sessionId: record.sessionId,
    status: record.status,
    principal: {
      issuer: record.principal.issuer,
      subject: record.principal.subject,
      groups: record.principal.groups,
      claims: record.principal.claims,
    },
    sql: record.request.sql,
    purpose: record.request.purpose,
    classification: record.classification,
    decision: {
      outcome: record.decision.outcome,
      reasons: record.decision.reasons,
      rules: record.decision.rules,
      policy: record.decision.policy,
    },
    ...(record.approval === null
      ? {}
      : {
          approval: {
            id: record.approval.id,
            expiresAt: record.approval.expiresAt,
            quorum: record.approval.quorum,
          },
        }),
    approvals: record.approvals.map((a) => ({
      approver: a.approver,
      decision: a.decision,
      at: a.at,
      comment: a.comment,
    })),
    createdAt: record.createdAt,
    ...(record.completedAt === null ? {} : { completedAt: record.completedAt }),
    ...(record.error === null ? {} : { error: { code: record.error.code, message: record.error.message } }),
  };
  if (visible.access === "requester" && record.status === "completed" && record.result !== null) {
    // Nested here, so the result is recorded with its text (its rows' own, stored text spliced in) for the reply.
    const result = await loadStoredResult(deps, record);
    return { ...view, result: withJsonText(result, stringifyJson(result)) };
  }
  return view;
}
