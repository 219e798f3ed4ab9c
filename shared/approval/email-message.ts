// Formats an approval notice as an RFC 5322 message (plain text, UTF-8): headers, CRLF lines, no PHI, no SQL, no token.

import { type ApprovalNotice, noticeText, shown, stripControls } from "./notice.ts";

/** Sender and recipient of approval mail. */
export interface MailAddresses {
  /** e.g. `phigate <phigate@localhost>` */
  readonly from: string;
  /** e.g. `PHI approvers <phi-approvers@localhost>` */
  readonly to: string;
}

const MAX_LINE = 900;

/** An RFC 2047 encoded word when the value is not plain printable ASCII. */
function headerValue(text: string): string {
  const value = stripControls(text);
  return /^[\u0020-\u007e]*$/.test(value)
    ? value
    : `=?UTF-8?B?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

/** The RFC 5322 date-time of a moment, in UTC (`Tue, 01 Dec 2026 10:00:00 +0000`). */
export function rfc5322Date(at: Date): string {
  return at.toUTCString().replace(/GMT$/, "+0000");
}

function domainOf(address: string): string {
  return /@([A-Za-z0-9.-]+)>?\s*$/.exec(address)?.[1] ?? "localhost";
}

function fold(line: string): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > MAX_LINE) {
    const cut = rest.lastIndexOf(" ", MAX_LINE);
    const at = cut > 0 ? cut : MAX_LINE;
    out.push(rest.slice(0, at));
    rest = rest.slice(at).trimStart();
  }
  out.push(rest);
  return out;
}

/** The whole message, CRLF line endings, ready to be written as a `.eml` file or handed to a mail relay. */
export function formatApprovalEmail(notice: ApprovalNotice, addresses: MailAddresses, at: Date): string {
  const expires = new Date(notice.expiresAt).toISOString().replace("T", " ").slice(0, 16);
  const headers = [
    `From: ${headerValue(addresses.from)}`,
    `To: ${headerValue(addresses.to)}`,
    `Subject: ${headerValue(notice.outcome === undefined ? `[phigate] Approval needed: ${shown(notice.requester.label)} (expires ${expires} UTC)` : `[phigate] Approval request ${notice.outcome.status}: ${shown(notice.requester.label)}`)}`,
    `Date: ${rfc5322Date(at)}`,
    `Message-ID: <${notice.approvalId}.${at.getTime()}@${domainOf(addresses.from)}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "Auto-Submitted: auto-generated",
    `X-Phigate-Approval-Id: ${notice.approvalId}`,
    `X-Phigate-Session-Id: ${notice.sessionId}`,
  ];
  const body = noticeText(notice).map(stripControls).flatMap(fold);
  return `${headers.join("\r\n")}\r\n\r\n${body.join("\r\n")}\r\n`;
}
