// End to end through HTTP (issue 6): a quorum of two, expiry on an injected clock, and restarts on the same DATA_DIR —
// pending approvals resume, an expiry that passed while the gateway was down fires at start, a changed policy fails closed.

import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type AdjustableClock,
  adjustableClock,
  decide,
  demoPolicyWith,
  eventually,
  RISKY_SMALL_SQL,
  readExecution,
  waitForStatus,
} from "#test/support/approvals.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

const TTL = 120;

describe("approval lifecycle: quorum 2, expiry, restarts", () => {
  let dataDir: string;
  let policy: string;
  let clock: AdjustableClock;
  let gw: TestGateway;

  let port = 0;
  const start = async (withClock: AdjustableClock, policyText = policy): Promise<TestGateway> => {
    clock = withClock;
    gw = await startTestGateway({
      dataDir,
      port,
      policy: policyText,
      clock: withClock,
      consoleNotifications: () => {},
    });
    port = Number(new URL(gw.url).port);
    return gw;
  };
  const tokens = async () => ({
    nightly: await gw.token(NIGHTLY),
    alice: await gw.token("alice", { groups: ["phi-approvers"] }),
    bob: await gw.token("bob", { groups: ["phi-approvers"] }),
  });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "phigate-approval-"));
    await cp(inject("pgdataTemplate"), join(dataDir, "pgdata"), { recursive: true });
    policy = await demoPolicyWith([
      ["    quorum: 1", "    quorum: 2"],
      ["ttlSeconds: 3600", `ttlSeconds: ${TTL}`],
    ]);
    await start(adjustableClock());
  });
  afterAll(async () => {
    await gw?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("needs two distinct approvers; the same approver twice is a conflict", async () => {
    const { nightly, alice, bob } = await tokens();
    const submitted = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["5%"] });
    expect(submitted.status).toBe(202);
    const { sessionId } = submitted.body;
    const approvalId: string = submitted.body.approval.id;
    const first = await decide(gw, alice, approvalId, { decision: "approve" });
    expect(first.body).toMatchObject({ status: "pending", approvals: 1, quorum: 2 });
    const twice = await decide(gw, alice, approvalId, { decision: "approve" });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe("already_decided");
    const halfway = await gw.request("GET", `/v1/sessions/${sessionId}`, { token: nightly });
    expect(halfway.body).toMatchObject({
      status: "pending_approval",
      approval: { quorum: 2 },
      approvals: [{ approver: "alice", decision: "approve" }],
    });
    const second = await decide(gw, bob, approvalId, { decision: "approve", comment: "second pair of eyes" });
    expect(second.body).toMatchObject({ status: "approved", approvals: 2, quorum: 2 });
    const done = await waitForStatus(gw, nightly, sessionId, ["completed", "failed"]);
    expect(done.body.status).toBe("completed");
    expect(done.body.approvals.map((a: { approver: string }) => a.approver)).toEqual(["alice", "bob"]);
  });

  it("expires on time: the session is expired and a late decision answers 410 expired", async () => {
    const { nightly, alice } = await tokens();
    const submitted = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["6%"] });
    const { sessionId } = submitted.body;
    clock.advance(TTL + 1);
    const expired = await waitForStatus(gw, nightly, sessionId, ["expired"], 10_000);
    expect(expired.body).toMatchObject({ status: "expired", error: { code: "approval_expired" } });
    const late = await decide(gw, alice, submitted.body.approval.id, { decision: "approve" });
    expect(late.status).toBe(410);
    expect(late.body.error.code).toBe("expired");
  });

  it("survives a restart: a pending approval resumes and runs when approved; one whose expiry passed while down expires at start", async () => {
    let { nightly } = await tokens();
    const expiring = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["7%"] });
    clock.advance(TTL - 30);
    const resuming = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["8%"] });
    expect([expiring.status, resuming.status]).toEqual([202, 202]);
    const offset = clock.offsetMs;
    await gw.close();

    await start(adjustableClock(offset + 40_000));
    const fresh = await tokens();
    nightly = fresh.nightly;
    const expired = await waitForStatus(gw, nightly, expiring.body.sessionId, ["expired"], 10_000);
    expect(expired.body.status).toBe("expired");
    const still = await gw.request("GET", `/v1/sessions/${resuming.body.sessionId}`, { token: nightly });
    expect(still.body.status).toBe("pending_approval");

    const approvalId: string = resuming.body.approval.id;
    expect((await decide(gw, fresh.alice, approvalId, { decision: "approve" })).status).toBe(200);
    expect((await decide(gw, fresh.bob, approvalId, { decision: "approve" })).status).toBe(200);
    const done = await waitForStatus(gw, nightly, resuming.body.sessionId, ["completed", "failed"]);
    expect(done.body.status).toBe("completed");
    expect(done.body.sql).toBe(RISKY_SMALL_SQL);
    const execution = await eventually(async () => {
      const doc = await readExecution(join(dataDir, "approvals", "executions"), approvalId);
      return doc.status === "running" ? undefined : doc;
    });
    expect(execution).toMatchObject({ status: "succeeded", state: "Done" });
    expect(execution.history.map((h: { state: string }) => h.state)).toEqual([
      "PlanWait",
      "CheckTimeLeft",
      "AwaitDecision",
      "Decide",
      "Execute",
    ]);
  });

  it("reopens the approval on a retry when the first attempt died after recording its session", async () => {
    let { nightly } = await tokens();
    const key = { "idempotency-key": "crashed-before-approval" };
    const first = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["9%"] }, key);
    expect(first.status).toBe(202);
    const approvalId: string = first.body.approval.id;
    const offset = clock.offsetMs;
    await gw.close();
    // What a crash between recording the session and opening its approval leaves: no approval, no workflow.
    await rm(join(dataDir, "approvals", "requests", `${approvalId}.json`));
    await rm(join(dataDir, "approvals", "executions", `${approvalId}.json`));

    await start(adjustableClock(offset));
    const fresh = await tokens();
    nightly = fresh.nightly;
    const retry = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["9%"] }, key);
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({ sessionId: first.body.sessionId, approval: { id: approvalId } });
    expect((await decide(gw, fresh.alice, approvalId, { decision: "approve" })).status).toBe(200);
    expect((await decide(gw, fresh.bob, approvalId, { decision: "approve" })).status).toBe(200);
    const done = await waitForStatus(gw, nightly, first.body.sessionId, ["completed", "failed"]);
    expect(done.body.status).toBe("completed");
  });

  it("fails closed when the policy changed between the request and its approval", async () => {
    const { nightly } = await tokens();
    const submitted = await gw.query(nightly, { sql: RISKY_SMALL_SQL, params: ["9%"] });
    const offset = clock.offsetMs;
    await gw.close();
    await start(
      adjustableClock(offset),
      policy.replace("description: Demo policy", "description: Edited demo policy"),
    );
    const fresh = await tokens();
    await decide(gw, fresh.alice, submitted.body.approval.id, { decision: "approve" });
    await decide(gw, fresh.bob, submitted.body.approval.id, { decision: "approve" });
    const failed = await waitForStatus(gw, fresh.nightly, submitted.body.sessionId, ["completed", "failed"]);
    expect(failed.body).toMatchObject({ status: "failed", error: { code: "policy_changed" } });
    expect(failed.body).not.toHaveProperty("result");
  });
});
