// End to end through HTTP (issue 6): a risky read waits for a named human; approve, deny, self-approval, non-approvers,
// binding, notifications and the page's sign-in and CSRF gates, against a real local gateway with the demo policy.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FileCatalogArchive } from "#infra/local/adapters/file-catalog-archive.ts";
import { assessSession } from "#shared/evidence/assess-session.ts";
import { parseCatalogSnapshot } from "#shared/sql/catalog-snapshot.ts";
import {
  adjustableClock,
  decide,
  eventually,
  outboxMessages,
  RAW_SSN,
  RISKY_SMALL_SQL,
  RISKY_SQL,
  rawSsns,
  waitForStatus,
} from "#test/support/approvals.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import { journalShape } from "#test/support/journal-shape.ts";

describe("just-in-time approval (demo policy, quorum 1)", () => {
  const clock = adjustableClock();
  const consoleLines: string[] = [];
  let gw: TestGateway;
  let nightly: string;
  let alice: string;
  let carol: string;

  beforeAll(async () => {
    gw = await startTestGateway({ clock, consoleNotifications: (line) => consoleLines.push(line) });
    nightly = await gw.token(NIGHTLY);
    alice = await gw.token("alice", { groups: ["phi-approvers"], claims: { email: "alice@example.test" } });
    carol = await gw.token("carol", { groups: ["engineering"] });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("holds the full-history join for a human, refuses self-approval and non-approvers, then runs it once approved", async () => {
    const submitted = await gw.query(nightly, { sql: RISKY_SQL, purpose: "nightly report" });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toEqual({
      sessionId: expect.stringMatching(/^ses_/),
      status: "pending_approval",
      approval: {
        id: expect.stringMatching(/^apr_[0-9A-Z]{26}$/),
        expiresAt: expect.any(String),
        reasons: expect.arrayContaining([expect.stringContaining("full-history")]),
      },
    });
    const { sessionId } = submitted.body;
    const approvalId: string = submitted.body.approval.id;
    expect(Date.parse(submitted.body.approval.expiresAt) - clock.now().getTime()).toBeGreaterThan(3500_000);

    const pending = await gw.request("GET", `/v1/sessions/${sessionId}`, { token: nightly });
    expect(pending.body).toMatchObject({
      status: "pending_approval",
      approval: { id: approvalId, quorum: 1 },
      approvals: [],
    });
    expect(pending.body).not.toHaveProperty("result");

    const self = await decide(gw, nightly, approvalId, { decision: "approve" });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe("self_approval");
    const stranger = await decide(gw, carol, approvalId, { decision: "approve" });
    expect(stranger.status).toBe(403);
    expect(stranger.body.error.code).toBe("not_an_approver");

    const started = Date.now();
    const approved = await decide(gw, alice, approvalId, {
      decision: "approve",
      comment: "monthly audit, ticket 42",
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      approvalId,
      sessionId,
      status: "approved",
      approvals: 1,
      quorum: 1,
    });

    const done = await waitForStatus(gw, nightly, sessionId, ["completed", "failed"]);
    const elapsed = Date.now() - started;
    expect(done.status).toBe(200);
    expect(done.body.status, JSON.stringify(done.body.error)).toBe("completed");
    expect(done.body.approvals).toEqual([
      {
        approver: "alice@example.test",
        decision: "approve",
        at: expect.any(String),
        comment: "monthly audit, ticket 42",
      },
    ]);
    const result = done.body.result;
    expect(result.rowCount).toBeGreaterThan(0);
    const ssn = result.columns.find((c: { name: string }) => c.name === "ssn");
    expect(ssn.masking).toMatchObject({ strategy: "redact" });
    // The result is inline, so every row is in the response body the leak checks below scan.
    expect(result.resultUrl).toBeUndefined();
    expect(result.rows).toHaveLength(result.rowCount);
    const raws = await rawSsns(gw);
    expect(raws).toHaveLength(200);
    for (const raw of raws) expect(done.text).not.toContain(raw);
    const ssnAt = result.columns.indexOf(ssn);
    for (const row of result.rows) expect(String(row[ssnAt])).not.toMatch(RAW_SSN);
    console.info(`approve → completed result in ${elapsed} ms (${result.rowCount} rows)`);

    const record = await gw.host.deps.sessions.get(sessionId);
    expect(record?.transitions.map((t) => t.status)).toEqual([
      "pending_approval",
      "approved",
      "running",
      "completed",
    ]);
    // The gateway archived the catalog the statement was analyzed against; re-analysis agrees with the record.
    const cited = record?.analysis?.catalog;
    expect(cited?.version).toMatch(/^[0-9a-f]{64}$/);
    const snapshot = await new FileCatalogArchive(join(gw.dataDir, "catalogs")).get(cited?.version ?? "");
    expect(snapshot).toBeDefined();
    const catalog = parseCatalogSnapshot(snapshot ?? new Uint8Array());
    const audit = await assessSession(
      record as NonNullable<typeof record>,
      gw.host.deps.policy.current(),
      catalog,
    );
    expect(audit).toMatchObject({
      authorization: "ok",
      masking: "ok",
      review: "approved",
      reanalysis: "ok",
      findings: [],
    });

    const again = await decide(gw, alice, approvalId, { decision: "approve" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("already_decided");
  });

  it("records a deny as terminal: the session is denied with the decision, and nothing runs", async () => {
    const submitted = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["1%"] });
    expect(submitted.status).toBe(202);
    const { sessionId } = submitted.body;
    const approvalId: string = submitted.body.approval.id;
    const denied = await decide(gw, alice, approvalId, {
      decision: "deny",
      comment: "use the aggregate view",
    });
    expect(denied.status).toBe(200);
    expect(denied.body.status).toBe("denied");
    const closed = await waitForStatus(gw, nightly, sessionId, ["denied"]);
    expect(closed.body).toMatchObject({
      status: "denied",
      error: { code: "approval_denied" },
      approvals: [{ approver: "alice@example.test", decision: "deny", comment: "use the aggregate view" }],
    });
    expect(closed.body).not.toHaveProperty("result");
    const late = await decide(gw, alice, approvalId, { decision: "approve" });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe("already_decided");
    // The session is closed before the request's parameters are erased (so a crash between the two leaves the
    // request open for reconciliation); the erasure follows within the same task.
    await vi.waitFor(
      async () => {
        const state = JSON.parse(
          await readFile(join(gw.dataDir, "approvals", "requests", `${approvalId}.json`), "utf8"),
        );
        expect(state).toMatchObject({ status: "denied", params: null, closedAt: expect.any(String) });
      },
      { timeout: 10_000, interval: 20 },
    );
  });

  it("refuses a decision bound to another statement (binding mismatch)", async () => {
    const submitted = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["2%"] });
    const approvalId: string = submitted.body.approval.id;
    const wrong = await decide(gw, alice, approvalId, { decision: "approve", binding: "0".repeat(64) });
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.code).toBe("binding_mismatch");
    const stored = JSON.parse(
      await readFile(join(gw.dataDir, "approvals", "requests", `${approvalId}.json`), "utf8"),
    );
    expect(stored.status).toBe("pending");
    const right = await decide(gw, alice, approvalId, { decision: "approve", binding: stored.binding });
    expect(right.status).toBe(200);
    const done = await waitForStatus(gw, nightly, submitted.body.sessionId, ["completed", "failed"]);
    expect(done.body.status).toBe("completed");
    expect(done.body.result.rowCount).toBe(20);
  });

  it("notifies approvers with an opaque link: an .eml without SQL, PHI or task token, and one console line", async () => {
    const submitted = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["3%"] });
    const approvalId: string = submitted.body.approval.id;
    const [eml] = await eventually(async () => {
      const found = await outboxMessages(gw.dataDir, approvalId);
      return found.length > 0 ? found : undefined;
    });
    expect(eml).toBeDefined();
    const text = eml ?? "";
    const link = `${gw.url}/approvals/${approvalId}`;
    expect(text).toContain(link);
    expect(text).toMatch(
      /^From: .+\r\nTo: .+\r\nSubject: \[phigate\] Approval needed: .+\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\r\nMessage-ID: <apr_[0-9A-Z]{26}\.\d+@localhost>\r\nMIME-Version: 1\.0\r\nContent-Type: text\/plain; charset=utf-8\r\n/,
    );
    expect(text).toContain(NIGHTLY);
    expect(text).not.toMatch(/SELECT|FROM patients|ssn, first_name/i);
    expect(text).not.toMatch(RAW_SSN);
    const state = await eventually(async () => {
      const s = JSON.parse(
        await readFile(join(gw.dataDir, "approvals", "requests", `${approvalId}.json`), "utf8"),
      );
      return s.taskToken === null ? undefined : s;
    });
    expect(text).not.toContain(state.taskToken);
    const line = consoleLines.find((l) => l.includes(approvalId));
    expect(line).toContain(link);
    expect(line).not.toMatch(/SELECT/i);
    expect(gw.logs.join("\n")).not.toContain(state.taskToken);
    expect(gw.logs.join("\n")).not.toContain(link);
  });

  it("never lets the link alone in: the page signs the approver in with OIDC code + PKCE, and forms need origin, session and CSRF", async () => {
    const submitted = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["4%"] });
    const approvalId: string = submitted.body.approval.id;
    const page = await fetch(`${gw.url}/approvals/${approvalId}`, { redirect: "manual" });
    expect(page.status).toBe(302);
    const location = new URL(page.headers.get("location") ?? "");
    expect(location.pathname).toBe("/dev-idp/authorize");
    expect(Object.fromEntries(location.searchParams)).toMatchObject({
      response_type: "code",
      scope: "openid",
      code_challenge_method: "S256",
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      redirect_uri: `${gw.url}/approvals/oidc/callback`,
    });
    const loginCookie = page.headers.getSetCookie()[0] ?? "";
    expect(loginCookie).toMatch(
      /^phigate_login=[A-Za-z0-9_-]+; Path=\/approvals; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );
    expect(await page.text()).not.toMatch(/SELECT/i);

    const form = new URLSearchParams({ csrf: "x", binding: "0".repeat(64), decision: "approve" }).toString();
    const headers = { "content-type": "application/x-www-form-urlencoded" };
    const noOrigin = await fetch(`${gw.url}/approvals/${approvalId}`, {
      method: "POST",
      headers,
      body: form,
    });
    expect(noOrigin.status).toBe(403);
    expect(await noOrigin.text()).toContain("csrf_failed");
    const foreign = await fetch(`${gw.url}/approvals/${approvalId}`, {
      method: "POST",
      headers: { ...headers, origin: "https://evil.example" },
      body: form,
    });
    expect(foreign.status).toBe(403);
    const noSession = await fetch(`${gw.url}/approvals/${approvalId}`, {
      method: "POST",
      headers: { ...headers, origin: gw.url },
      body: form,
    });
    expect(noSession.status).toBe(401);
    expect(noSession.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(noSession.headers.get("x-frame-options")).toBe("DENY");

    const callback = await fetch(`${gw.url}/approvals/oidc/callback?code=forged&state=forged`, {
      headers: { cookie: loginCookie.split(";")[0] ?? "" },
    });
    expect(callback.status).toBe(401);
    const stored = JSON.parse(
      await readFile(join(gw.dataDir, "approvals", "requests", `${approvalId}.json`), "utf8"),
    );
    expect(stored.decisions).toEqual([]);
  });

  it("wrote every session record exactly in its schema's shape (the stores do not re-parse what they write)", async () => {
    const shape = await journalShape(gw.dataDir);
    expect(shape.records).toBeGreaterThan(3);
    expect(shape.outOfShape).toEqual([]);
  });
});
