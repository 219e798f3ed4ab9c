// The approver's page shows every text visibly: no bidi override or zero-width character reaches it raw.

import { beforeAll, describe, expect, it } from "vitest";
import type { ApprovalState } from "#shared/approval/approval-request.ts";
import { APPROVAL_STATE_SCHEMA } from "#shared/approval/approval-request.ts";
import { recordBinding } from "#shared/approval/binding.ts";
import { renderApprovalPage } from "#shared/approval/page/approval-page.ts";
import { loadPgScanner } from "#shared/sql/pg-wasm.ts";
import { sampleRecord } from "#test/support/records.ts";

/** Characters that make text read differently from what it is: bidi override, isolates, zero-width space. */
const HIDDEN = ["\u202E", "\u2066", "\u2069", "\u200B"] as const;
const HIDDEN_RE = /[\u202E\u2066\u2069\u200B]/;

describe("renderApprovalPage", () => {
  beforeAll(async () => {
    await loadPgScanner();
  });

  it("renders the SQL, purpose, claims, reasons and comments with visible markers, never the raw characters", () => {
    const now = new Date("2026-03-01T10:00:00.000Z");
    const sql = "SELECT id FROM patients WHERE role = 'user\u202E \u2066-- admin\u2069' AND\u200B id = 1";
    const base = sampleRecord({}, now);
    const record = {
      ...base,
      status: "pending_approval" as const,
      principal: {
        ...base.principal,
        claims: { repository: "org/repo", workflow_ref: "org/repo/.github/workflows/x.yml\u202E@main" },
      },
      request: { ...base.request, sql, purpose: "audit\u2066 follow-up\u2069\u200B" },
    };
    const state: ApprovalState = {
      schema: APPROVAL_STATE_SCHEMA,
      approvalId: `apr_${"A".repeat(26)}`,
      sessionId: record.sessionId,
      version: 2,
      status: "pending",
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 3_600_000).toISOString(),
      quorum: 2,
      binding: recordBinding(record),
      requester: {
        key: record.principal.key,
        issuer: record.principal.issuer,
        subject: record.principal.subject,
      },
      reasons: ["reads\u202E whole rows"],
      params: [],
      decisions: [
        {
          approver: "alice\u200B",
          approverKey: "https://idp.test/#alice",
          issuer: "https://idp.test/",
          subject: "alice",
          decision: "approve",
          at: now.toISOString(),
          comment: "fine\u2066 by me\u2069",
          binding: recordBinding(record),
          via: "page",
        },
      ],
      taskToken: null,
      notifiedAt: null,
      decidedAt: null,
      closedAt: null,
    };
    const page = renderApprovalPage({
      state,
      record,
      viewer: { label: "bob", key: "https://idp.test/#bob", subject: "bob" },
      csrf: "token",
      now,
    }).value;
    for (const raw of HIDDEN) expect(page).not.toContain(raw);
    expect(page).not.toMatch(HIDDEN_RE);
    const sqlBlock = page.slice(page.indexOf('<pre class="sql">'), page.indexOf("</pre>"));
    for (const marker of ["⟨U+202E⟩", "⟨U+2066⟩", "⟨U+2069⟩", "⟨U+200B⟩"]) expect(sqlBlock).toContain(marker);
    expect(page).toContain("audit⟨U+2066⟩ follow-up⟨U+2069⟩⟨U+200B⟩");
    expect(page).toContain("reads⟨U+202E⟩ whole rows");
    expect(page).toContain("fine⟨U+2066⟩ by me⟨U+2069⟩");
    expect(page).toContain("alice⟨U+200B⟩");
    expect(page).toContain("x.yml⟨U+202E⟩@main");
  });
});
