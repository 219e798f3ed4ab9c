// Access boundaries (issue 9): a caller never reads another's session, result or replay (404, like a session that
// doesn't exist); approvers see pending work and no results; auditors see records and replays and no results.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoPolicyWith, RISKY_SMALL_SQL } from "#test/support/approvals.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

describe("access boundaries", () => {
  let gw: TestGateway;
  const tokens: Record<string, string> = {};
  let allowedSession: string;
  let pendingSession: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    tokens.requester = await gw.token(NIGHTLY);
    tokens.otherJob = await gw.token("repo:acme/ehr-reports:ref:refs/heads/feature");
    tokens.approver = await gw.token("alice", { groups: ["phi-approvers"] });
    tokens.auditor = await gw.token("audrey", { groups: ["auditors"] });
    tokens.stranger = await gw.token("mallory", { groups: ["phi-approvers-fake", "Auditors"] });
    const allowed = await gw.query(tokens.requester ?? "", {
      sql: "SELECT id, ssn FROM patients ORDER BY id LIMIT 2",
    });
    expect(allowed.status).toBe(200);
    allowedSession = allowed.body.sessionId;
    const pending = await gw.query(tokens.requester ?? "", { sql: RISKY_SMALL_SQL, params: ["1%"] });
    expect(pending.status).toBe(202);
    pendingSession = pending.body.sessionId;
  });
  afterAll(async () => gw?.close());

  const read = (who: string, path: string) => gw.request("GET", path, { token: tokens[who] ?? "" });

  it("gives the requester its session with the result", async () => {
    const answer = await read("requester", `/v1/sessions/${allowedSession}`);
    expect(answer.status).toBe(200);
    expect(answer.body.result.rowCount).toBe(2);
  });

  it("hides a session, its result and its replay from every other caller without a role (404)", async () => {
    for (const who of ["otherJob", "stranger"]) {
      for (const path of [
        `/v1/sessions/${allowedSession}`,
        `/v1/sessions/${allowedSession}/replay`,
        `/v1/sessions/${pendingSession}`,
      ]) {
        const answer = await read(who, path);
        expect(answer.status, `${who} ${path}`).toBe(404);
        expect(answer.body.error.code).toBe("not_found");
        expect(answer.text).not.toContain("ssn");
      }
    }
  });

  it("lets an approver read pending work (no result), but not unrelated sessions or replays", async () => {
    const pending = await read("approver", `/v1/sessions/${pendingSession}`);
    expect(pending.status).toBe(200);
    expect(pending.body).not.toHaveProperty("result");
    expect((await read("approver", `/v1/sessions/${allowedSession}`)).status).toBe(404);
    expect((await read("approver", `/v1/sessions/${allowedSession}/replay`)).status).toBe(404);
  });

  it("keeps the planner's figures and their salt from the requester's replay, so its digests confirm no guessed estimate (the twenty-third outside attack)", async () => {
    const dry = await gw.query(tokens.requester ?? "", {
      sql: "SELECT e.id FROM encounters e WHERE e.patient_id = 7 AND e.id > 0",
      dryRun: true,
    });
    expect(dry.status).toBe(200);
    const stored = await gw.host.deps.sessions.get(dry.body.sessionId);
    expect(stored?.decision.estimatedRows).toEqual(expect.any(Number));
    expect(stored?.decision.estimateSalt).toMatch(/^[0-9a-f]{32}$/);
    const mine = await read("requester", `/v1/sessions/${dry.body.sessionId}/replay`);
    expect(mine.status).toBe(200);
    expect(mine.body.exchange.decision.estimatedRows).toBeNull();
    expect(mine.body.exchange.decision).not.toHaveProperty("estimateSalt");
    expect(mine.body.exchange.decision).not.toHaveProperty("estimatedCost");
    expect(JSON.stringify(mine.body)).not.toContain(stored?.decision.estimateSalt ?? "no salt");
    // Auditors see all of it, so the digest they verify covers what they see.
    const audited = await read("auditor", `/v1/sessions/${dry.body.sessionId}/replay`);
    expect(audited.body.exchange.decision.estimateSalt).toBe(stored?.decision.estimateSalt);
    expect(audited.body.exchange.decision.estimatedRows).toBe(stored?.decision.estimatedRows);
    // Two records of the same dry run differ in their salt: a guessed estimate cannot be checked against a digest.
    const again = await gw.query(tokens.requester ?? "", {
      sql: "SELECT e.id FROM encounters e WHERE e.patient_id = 7 AND e.id > 0",
      dryRun: true,
    });
    const other = await gw.host.deps.sessions.get(again.body.sessionId);
    expect(other?.decision.estimateSalt).not.toBe(stored?.decision.estimateSalt);
  });

  it("lets an auditor read records and replays, never the result in a session view", async () => {
    const session = await read("auditor", `/v1/sessions/${allowedSession}`);
    expect(session.status).toBe(200);
    expect(session.body).not.toHaveProperty("result");
    expect((await read("auditor", `/v1/sessions/${allowedSession}/replay`)).status).toBe(200);
  });

  it("keeps bundles to auditors and decisions to approvers who did not ask", async () => {
    const range = {
      from: new Date(Date.now() - 3_600_000).toISOString(),
      to: new Date(Date.now() - 1_000).toISOString(),
    };
    for (const who of ["requester", "approver", "stranger"]) {
      const answer = await gw.request("POST", "/v1/evidence-bundles", {
        token: tokens[who] ?? "",
        body: range,
      });
      expect(answer.status, who).toBe(403);
    }
    const pending = await read("requester", `/v1/sessions/${pendingSession}`);
    const approvalId = pending.body.approval.id;
    for (const [who, code] of [
      ["requester", "self_approval"],
      ["auditor", "not_an_approver"],
      ["stranger", "not_an_approver"],
    ] as const) {
      const answer = await gw.request("POST", `/v1/approvals/${approvalId}/decision`, {
        token: tokens[who] ?? "",
        body: { decision: "approve" },
      });
      expect(answer.status, who).toBe(403);
      expect(answer.body.error.code).toBe(code);
    }
  });
});

describe("an estimate asked only for the approval", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // Without the estimate rule, seven PHI columns need the approval and no rule asks the planner: the approval
    // block does, for the approvers.
    gw = await startTestGateway({
      policy: await demoPolicyWith([
        [
          "    - id: large-result\n      description: more rows than a report needs\n      when:\n        estimatedRowsOver: 20000\n",
          "",
        ],
      ]),
    });
  });
  afterAll(async () => gw?.close());

  it("is salted like the decision's, and both are kept from the requester's replay", async () => {
    const requester = await gw.token(NIGHTLY);
    const pending = await gw.query(requester, { sql: RISKY_SMALL_SQL, params: ["1%"] });
    expect(pending.status).toBe(202);
    const stored = await gw.host.deps.sessions.get(pending.body.sessionId);
    expect(stored?.decision.estimatedRows ?? null).toBeNull();
    expect(stored?.decision).not.toHaveProperty("estimateSalt");
    expect(stored?.approval?.estimatedRows).toEqual(expect.any(Number));
    expect(stored?.approval?.estimateSalt).toMatch(/^[0-9a-f]{32}$/);
    const path = `/v1/sessions/${pending.body.sessionId}/replay`;
    const mine = await gw.request("GET", path, { token: requester });
    expect(mine.status).toBe(200);
    expect(mine.body.exchange.approvals.request.estimatedRows).toBeNull();
    expect(JSON.stringify(mine.body)).not.toContain(stored?.approval?.estimateSalt ?? "no salt");
    const auditor = await gw.token("audrey", { groups: ["auditors"] });
    const audited = await gw.request("GET", path, { token: auditor });
    expect(audited.body.exchange.approvals.request.estimateSalt).toBe(stored?.approval?.estimateSalt);
  });
});
