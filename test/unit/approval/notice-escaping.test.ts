// Notifications with the page's care (finding 5): mrkdwn escaped, bidi and zero-width characters shown as code points,
// the requester named by subject and issuer everywhere, a claimed email only as a claim — and (finding 6) approvers
// told the outcome of a request decided before they were notified.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { noticeSubject } from "#infra/aws/adapters/sns-notifier.ts";
import { consoleLine } from "#infra/local/adapters/console-notifier.ts";
import { FileApprovalStore } from "#infra/local/adapters/file-approval-store.ts";
import { APPROVAL_STATE_SCHEMA, type ApprovalState } from "#shared/approval/approval-request.ts";
import { recordBinding } from "#shared/approval/binding.ts";
import type { ApprovalTaskDeps } from "#shared/approval/deps.ts";
import { formatApprovalEmail } from "#shared/approval/email-message.ts";
import { type ApprovalNotice, buildNotice, noticeText, webhookText } from "#shared/approval/notice.ts";
import { renderApprovalPage } from "#shared/approval/page/approval-page.ts";
import { notifyApprovers } from "#shared/approval/tasks/notify-approvers.ts";
import { renderReport } from "#shared/evidence/report-html.ts";
import { summarize } from "#shared/evidence/session-summary.ts";
import { silentLogger } from "#shared/log.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { loadPgScanner } from "#shared/sql/pg-wasm.ts";
import { sampleRecord } from "#test/support/records.ts";

const NOW = new Date("2026-11-29T12:00:00.000Z");
/** Bidi overrides and isolates, zero-width characters: what reorders or hides text. */
const HIDDEN = /[\u061C\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/;
const CLAIMED = "security-team@acme.org";
const SUBJECT = "repo:evil/x:ref:refs/heads/main\u202Egnp.exe";
const ISSUER = "https://token.actions.githubusercontent.com";

function hostileRecord(): SessionRecord {
  const base = sampleRecord({}, NOW);
  return {
    ...base,
    status: "pending_approval",
    principal: {
      ...base.principal,
      issuer: ISSUER,
      subject: SUBJECT,
      key: `${ISSUER}#${SUBJECT}`,
      claims: {
        email: CLAIMED,
        name: "<!channel> <https://evil.example|Click to approve> *urgent*",
        repository: "evil/x\u200B",
        workflow_ref: "evil/x/.github/workflows/w.yml@refs/heads/main\u2066",
        run_id: "42\nApproved by security",
      },
    },
  };
}

function stateFor(record: SessionRecord, changes: Partial<ApprovalState> = {}): ApprovalState {
  return {
    schema: APPROVAL_STATE_SCHEMA,
    approvalId: `apr_${"B".repeat(26)}`,
    sessionId: record.sessionId,
    version: 1,
    status: "pending",
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    expiresAt: new Date(NOW.getTime() + 3_600_000).toISOString(),
    quorum: 1,
    binding: recordBinding(record),
    requester: {
      key: record.principal.key,
      issuer: record.principal.issuer,
      subject: record.principal.subject,
    },
    reasons: ["public.patients is read with no restrictive predicate"],
    params: [],
    decisions: [],
    taskToken: null,
    notifiedAt: null,
    decidedAt: null,
    closedAt: null,
    ...changes,
  };
}

describe("approval notifications", () => {
  const record = hostileRecord();
  const notice = buildNotice(stateFor(record), record, "https://phigate.example");
  const name = "repo:evil/x:ref:refs/heads/main⟨U+202E⟩gnp.exe @ https://token.actions.githubusercontent.com";

  beforeAll(async () => {
    await loadPgScanner();
  });

  it("names the requester by subject and issuer, and shows a claimed email only as a claim", () => {
    const lines = noticeText(notice);
    expect(lines[0]).toBe(`${name} asks to run a statement that needs an approval.`);
    expect(lines[0]).not.toContain(CLAIMED);
    expect(lines).toContain(
      `Claims:    claims email ${CLAIMED}, name <!channel> <https://evil.example|Click to approve> *urgent* (unverified) — not the requester's name`,
    );
    expect(lines).toContain("Run:       42⟨U+000A⟩Approved by security");
    expect(consoleLine(notice)).toContain(`approval needed · ${name} · `);
    expect(consoleLine(notice)).not.toContain(CLAIMED);
    expect(noticeSubject(notice)).toMatch(
      /^phigate: approval requested by repo:evil\/x:ref:refs\/heads\/main\?U\+202E\?gnp\.exe @ https/,
    );
  });

  it("escapes the webhook text for mrkdwn and shows bidi and zero-width characters as code points", () => {
    const text = webhookText(notice);
    expect(text).not.toMatch(/[<>]/);
    expect(text).not.toContain("&&");
    expect(text).toContain("&lt;!channel&gt; &lt;https://evil.example|Click to approve&gt;");
    expect(text).not.toMatch(HIDDEN);
    expect(text).toContain("evil/x⟨U+200B⟩");
    expect(text).toContain("refs/heads/main⟨U+2066⟩");
    expect(text.split("\n")[0]).toBe(`${name} asks to run a statement that needs an approval.`);
  });

  it("keeps bidi and zero-width characters out of the e-mail, Subject included", () => {
    const mail = formatApprovalEmail(notice, { from: "phigate <p@localhost>", to: "a <a@localhost>" }, NOW);
    expect(mail).not.toMatch(HIDDEN);
    const subject = /^Subject: =\?UTF-8\?B\?([^?]+)\?=$/m.exec(mail)?.[1];
    const decoded = Buffer.from(subject ?? "", "base64").toString("utf8");
    expect(decoded).toBe(`[phigate] Approval needed: ${name} (expires 2026-11-29 13:00 UTC)`);
    expect(decoded).not.toMatch(HIDDEN);
    expect(mail).not.toContain(`Approval needed: ${CLAIMED}`);
  });

  it("names the requester on the page ('Requested by') and in the report ('who accessed PHI') the same way", () => {
    const page = renderApprovalPage({
      state: stateFor(record),
      record,
      viewer: { label: "bob", key: "https://idp.test/#bob", subject: "bob" },
      csrf: "token",
      now: NOW,
    }).value;
    const requestedBy = page.slice(
      page.indexOf("<dt>Requested by</dt>"),
      page.indexOf("</dd>", page.indexOf("<dt>Requested by</dt>")),
    );
    expect(requestedBy).toContain(`<strong>${name}</strong>`);
    expect(requestedBy).toContain(`(claims email ${CLAIMED}`);
    const summary = summarize(1, record, undefined);
    const report = renderReport({
      manifest: {
        schema: "phigate.evidence-bundle/v3",
        bundleId: "evb_x",
        createdAt: NOW.toISOString(),
        generator: { name: "phigate", version: "0" },
        range: { from: NOW.toISOString(), to: NOW.toISOString() },
        chain: { genesis: "0".repeat(64), anchor: null, first: null, last: null, entries: 0 },
        counts: {
          entries: 0,
          sessions: 1,
          exports: 0,
          approvals: 0,
          policies: 0,
          catalogs: 0,
          policyChanges: 0,
          statuses: {},
        },
        results: { verified: 0, missing: 0, mismatched: 0 },
        policies: [],
        policyChanges: [],
        analyzer: { version: 1 },
        catalogs: [],
        signing: {
          algorithm: "ECDSA_P256_SHA256",
          keyFingerprint: "0".repeat(64),
          publicKey: "public-key.pem",
          signature: "manifest.sig",
        },
      },
      sessions: [summary],
      policyChanges: [],
    });
    const who = report.slice(
      report.indexOf('id="who-accessed-phi"'),
      report.indexOf('id="authorized-fields"'),
    );
    expect(who).toContain(name);
    expect(who).toContain(`claims email ${CLAIMED}`);
    expect(who).not.toMatch(HIDDEN);
    expect(who.indexOf(name)).toBeLessThan(who.indexOf(CLAIMED));
  });
});

describe("notify-approvers after an early decision", () => {
  it("tells the approvers the outcome and who decided, once, when the request was decided before they were told", async () => {
    const dir = await mkdtemp(join(tmpdir(), "phigate-notify-"));
    try {
      const record = hostileRecord();
      const approvals = new FileApprovalStore(dir);
      await approvals.create(
        stateFor(record, {
          status: "approved",
          decidedAt: NOW.toISOString(),
          decisions: [
            {
              approver: "alice@acme.org",
              approverKey: "https://idp.test/#alice",
              issuer: "https://idp.test/",
              subject: "alice",
              decision: "approve",
              at: NOW.toISOString(),
              comment: null,
              binding: recordBinding(record),
              via: "page",
            },
          ],
        }),
      );
      const sent: ApprovalNotice[] = [];
      const completed: string[] = [];
      const deps = {
        approvals,
        sessions: { get: async () => record },
        workflow: {
          sendTaskSuccess: async (_: string, o: { outcome: string }) => void completed.push(o.outcome),
        },
        notifier: { notify: async (n: ApprovalNotice) => void sent.push(n) },
        clock: { now: () => NOW },
        logger: silentLogger,
        publicUrl: () => "https://phigate.example",
      } as unknown as ApprovalTaskDeps;
      const payload = {
        input: { approvalId: `apr_${"B".repeat(26)}`, sessionId: record.sessionId },
        taskToken: "t1",
      };
      expect(await notifyApprovers(deps, payload)).toEqual({ notified: true });
      expect(completed).toEqual(["approved"]);
      expect(sent).toHaveLength(1);
      expect(sent[0]?.outcome).toEqual({ status: "approved", by: ["alice @ https://idp.test/ (approve)"] });
      expect(noticeText(sent[0] as ApprovalNotice)[0]).toBe(
        "The request of repo:evil/x:ref:refs/heads/main⟨U+202E⟩gnp.exe @ https://token.actions.githubusercontent.com was approved by alice @ https://idp.test/ (approve) before approvers were notified.",
      );
      expect(await notifyApprovers(deps, { ...payload, taskToken: "t2" })).toEqual({ notified: false });
      expect(sent).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
