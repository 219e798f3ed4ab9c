// Approval mail as RFC 5322: the headers, CRLF lines, UTF-8 subjects encoded, no header injection, no SQL or token.

import { describe, expect, it } from "vitest";
import { formatApprovalEmail, rfc5322Date } from "#shared/approval/email-message.ts";
import type { ApprovalNotice } from "#shared/approval/notice.ts";

const notice: ApprovalNotice = {
  approvalId: "apr_0000000000000000000000000A",
  sessionId: "ses_00000000000000000000000000",
  link: "https://phigate.example/approvals/apr_0000000000000000000000000A",
  requester: {
    label: "repo:acme/ehr-reports:ref:refs/heads/main",
    subject: "repo:acme/ehr-reports:ref:refs/heads/main",
    issuer: "https://token.actions.githubusercontent.com",
    repository: "acme/ehr-reports",
    workflow: "acme/ehr-reports/.github/workflows/nightly.yml@refs/heads/main",
    runId: "1234567",
  },
  reasons: ["public.patients and public.encounters are read together with no restrictive predicate"],
  expiresAt: "2026-11-29T13:00:00.000Z",
  quorum: 2,
  createdAt: "2026-11-29T12:00:00.000Z",
};
const addresses = {
  from: "phigate <phigate@phigate.example>",
  to: "PHI approvers <phi-approvers@example.org>",
};
const AT = new Date("2026-11-29T12:00:01.000Z");

function parse(message: string): { headers: Map<string, string>; body: string } {
  const split = message.indexOf("\r\n\r\n");
  const head = message.slice(0, split);
  const body = message.slice(split + 4);
  const headers = new Map(
    head.split("\r\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]),
  );
  return { headers, body };
}

describe("formatApprovalEmail", () => {
  it("writes the RFC 5322 headers and a plain UTF-8 body with CRLF line endings", () => {
    const message = formatApprovalEmail(notice, addresses, AT);
    const { headers, body } = parse(message);
    expect([...headers.keys()]).toEqual([
      "From",
      "To",
      "Subject",
      "Date",
      "Message-ID",
      "MIME-Version",
      "Content-Type",
      "Content-Transfer-Encoding",
      "Auto-Submitted",
      "X-Phigate-Approval-Id",
      "X-Phigate-Session-Id",
    ]);
    expect(headers.get("From")).toBe(addresses.from);
    expect(headers.get("To")).toBe(addresses.to);
    expect(headers.get("Date")).toBe("Sun, 29 Nov 2026 12:00:01 +0000");
    expect(headers.get("Message-ID")).toBe(`<${notice.approvalId}.${AT.getTime()}@phigate.example>`);
    expect(headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(headers.get("Subject")).toBe(
      "[phigate] Approval needed: repo:acme/ehr-reports:ref:refs/heads/main (expires 2026-11-29 13:00 UTC)",
    );
    expect(message.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    expect(message.endsWith("\r\n")).toBe(true);
    expect(body).toContain(notice.link);
    expect(body).toContain("needs 2 approvals");
    expect(body).toContain("Run:       1234567");
    expect(body).toContain(`  - ${notice.reasons[0]}`);
    expect(body).toContain("Expires: 2026-11-29T13:00:00.000Z");
    for (const line of message.split("\r\n")) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(998);
  });

  it("encodes a non-ASCII subject (RFC 2047) and shows control characters in claim values as code points", () => {
    const evil = {
      ...notice,
      requester: {
        ...notice.requester,
        label: "Zoë\r\nBcc: everyone@example.org",
        subject: "Zoë\nX-Injected: 1",
      },
    };
    const message = formatApprovalEmail(evil, addresses, AT);
    const { headers, body } = parse(message);
    expect(headers.has("Bcc")).toBe(false);
    expect(headers.get("Subject")).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    expect(Buffer.from(headers.get("Subject")?.slice(10, -2) ?? "", "base64").toString("utf8")).toContain(
      "Zoë⟨U+000D⟩⟨U+000A⟩Bcc",
    );
    expect(body).not.toMatch(/^X-Injected/m);
  });

  it("formats dates as RFC 5322 date-times in UTC", () => {
    expect(rfc5322Date(new Date("2026-01-05T03:04:05Z"))).toBe("Mon, 05 Jan 2026 03:04:05 +0000");
  });
});
