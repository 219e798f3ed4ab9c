// What approvers are told: who asks, why it is risky, until when, and the opaque link — never SQL, PHI or a token
// (not even the free-text purpose, which a client could fill with anything: the page shows it behind sign-in).

import { principalLabel } from "#shared/identity/principal.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import type { ApprovalState } from "./approval-request.ts";

/** One notification about one approval request. */
export interface ApprovalNotice {
  readonly approvalId: string;
  readonly sessionId: string;
  /** `<publicUrl>/approvals/<approvalId>`: opens the page behind sign-in; it grants nothing by itself. */
  readonly link: string;
  readonly requester: {
    readonly label: string;
    readonly subject: string;
    readonly issuer: string;
    readonly repository?: string;
    readonly workflow?: string;
    readonly runId?: string;
  };
  /** The risk rules' sentences (table and column names, never values). */
  readonly reasons: readonly string[];
  readonly expiresAt: string;
  readonly quorum: number;
  readonly createdAt: string;
}

/** Replaces control characters (CR, LF, ...) with spaces: no header injection or stray lines through a claim value. */
export function stripControls(text: string): string {
  return text.replace(/\p{Cc}/gu, " ");
}

/** The approver page's URL for an approval id. */
export function approvalLink(publicUrl: string, approvalId: string): string {
  return `${publicUrl.replace(/\/+$/, "")}/approvals/${approvalId}`;
}

/** Builds the notice from the approval and its session record. */
export function buildNotice(state: ApprovalState, record: SessionRecord, publicUrl: string): ApprovalNotice {
  const { claims } = record.principal;
  return {
    approvalId: state.approvalId,
    sessionId: state.sessionId,
    link: approvalLink(publicUrl, state.approvalId),
    requester: {
      label: principalLabel(record.principal),
      subject: record.principal.subject,
      issuer: record.principal.issuer,
      ...(claims.repository === undefined ? {} : { repository: claims.repository }),
      ...(claims.workflow_ref === undefined ? {} : { workflow: claims.workflow_ref }),
      ...(claims.run_id === undefined ? {} : { runId: claims.run_id }),
    },
    reasons: state.reasons,
    expiresAt: state.expiresAt,
    quorum: state.quorum,
    createdAt: state.createdAt,
  };
}

/** The plain-text body shared by every channel (mail body, webhook text). */
export function noticeText(notice: ApprovalNotice): string[] {
  const r = notice.requester;
  const lines = [
    `${r.label} asks to run a statement that needs ${notice.quorum === 1 ? "an approval" : `${notice.quorum} approvals`}.`,
    "",
    `Requester: ${r.subject}`,
    `Issuer:    ${r.issuer}`,
  ];
  if (r.repository !== undefined) lines.push(`Repository: ${r.repository}`);
  if (r.workflow !== undefined) lines.push(`Workflow:  ${r.workflow}`);
  if (r.runId !== undefined) lines.push(`Run:       ${r.runId}`);
  lines.push("", "Why it needs a human:", ...notice.reasons.map((reason) => `  - ${reason}`));
  lines.push(
    "",
    `Expires: ${notice.expiresAt}`,
    "",
    "Review the exact statement and approve or deny it (sign-in required):",
    notice.link,
    "",
    `Approval ${notice.approvalId} · session ${notice.sessionId}`,
  );
  return lines;
}
