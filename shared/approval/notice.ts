// What approvers are told: who asks, why it is risky, until when, and the opaque link — never SQL, PHI or a token
// (not even the free-text purpose, which a client could fill with anything: the page shows it behind sign-in).

import { claimedIdentity, principalName } from "#shared/identity/principal.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { visible } from "#shared/web/html-template.ts";
import type { ApprovalState } from "./approval-request.ts";

/** One notification about one approval request. */
export interface ApprovalNotice {
  readonly approvalId: string;
  readonly sessionId: string;
  /** `<publicUrl>/approvals/<approvalId>`: opens the page behind sign-in; it grants nothing by itself. */
  readonly link: string;
  readonly requester: {
    /** The requester's name: verified subject @ issuer (`principalName`), never a claimed email. */
    readonly label: string;
    /** What the requester's token claims to be (email, username), marked as a claim. */
    readonly claimed?: string;
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
  /**
   * Set when the request was decided before approvers were told of it (the notify task ran late): they are told the
   * outcome, and who decided, instead of being asked.
   */
  readonly outcome?: { readonly status: "approved" | "denied" | "expired"; readonly by: readonly string[] };
}

/**
 * Text as a notification shows it, the approval page's way: control, bidi and zero-width characters (line breaks
 * and tabs too) become visible `⟨U+XXXX⟩`, so a claim cannot reorder, hide or add lines.
 */
export function shown(text: string): string {
  return visible(String(text)).replace(
    /[\n\t]/g,
    (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}⟩`,
  );
}

/** Escapes text for Slack's mrkdwn (`&`, `<`, `>`: no link markup, no `<!channel>`, no user mentions). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
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
      label: principalName(record.principal),
      ...(claimedIdentity(record.principal) === undefined
        ? {}
        : { claimed: claimedIdentity(record.principal) as string }),
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

/** The first line of every channel: who asks (by name), or the outcome when the request was already decided. */
export function noticeHeadline(notice: ApprovalNotice): string {
  const who = shown(notice.requester.label);
  if (notice.outcome !== undefined) {
    const by = notice.outcome.by.length === 0 ? "" : ` by ${notice.outcome.by.map(shown).join(", ")}`;
    return `The request of ${who} was ${notice.outcome.status}${by} before approvers were notified.`;
  }
  return `${who} asks to run a statement that needs ${notice.quorum === 1 ? "an approval" : `${notice.quorum} approvals`}.`;
}

/**
 * The plain-text body shared by every channel (mail body, webhook text, SNS): every value from the request shown
 * with `shown` (one visible line each), the requester named by subject and issuer, a claimed email as a claim.
 */
export function noticeText(notice: ApprovalNotice): string[] {
  const r = notice.requester;
  const lines = [
    noticeHeadline(notice),
    "",
    `Requester: ${shown(r.subject)}`,
    `Issuer:    ${shown(r.issuer)}`,
  ];
  if (r.claimed !== undefined) lines.push(`Claims:    ${shown(r.claimed)} — not the requester's name`);
  if (r.repository !== undefined) lines.push(`Repository: ${shown(r.repository)}`);
  if (r.workflow !== undefined) lines.push(`Workflow:  ${shown(r.workflow)}`);
  if (r.runId !== undefined) lines.push(`Run:       ${shown(r.runId)}`);
  lines.push("", "Why it needs a human:", ...notice.reasons.map((reason) => `  - ${shown(reason)}`));
  lines.push(
    "",
    `Expires: ${shown(notice.expiresAt)}`,
    "",
    notice.outcome === undefined
      ? "Review the exact statement and approve or deny it (sign-in required):"
      : "No action is needed; the decisions are on the request's page (sign-in required):",
    notice.link,
    "",
    `Approval ${notice.approvalId} · session ${notice.sessionId}`,
  );
  return lines;
}

/** The webhook's (Slack-compatible) text: the plain text, escaped for mrkdwn. */
export function webhookText(notice: ApprovalNotice): string {
  return escapeMrkdwn(noticeText(notice).join("\n"));
}
