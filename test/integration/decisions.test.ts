// End to end through HTTP (issue 3): the demo policy allows, denies and escalates by the parse tree, with reasons
// in the response and in the session record; parse failures are 400 with PostgreSQL's own message.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

describe("decisions of the demo policy", () => {
  let gw: TestGateway;
  let nightly: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    nightly = await gw.token(NIGHTLY);
  });
  afterAll(async () => gw?.close());

  async function recorded(sessionId: string) {
    const answer = await gw.request("GET", `/v1/sessions/${sessionId}`, { token: nightly });
    expect(answer.status).toBe(200);
    return answer.body;
  }

  it("allows a small read of granted tables", async () => {
    const answer = await gw.query(nightly, { sql: "SELECT id, department FROM encounters LIMIT 5" });
    expect(answer.status).toBe(200);
    const session = await recorded(answer.body.sessionId);
    expect(session.decision).toMatchObject({ outcome: "allow", reasons: ["granted to nightly-report"] });
  });

  it.each([
    ["a write", "DELETE FROM encounters WHERE id = 1", /write statements are not allowed/],
    ["DDL", "DROP TABLE encounters", /ddl statements are not allowed/],
    ["a locking read", "SELECT id FROM encounters WHERE id = 1 FOR UPDATE", /not allowed/],
    [
      "a data-modifying CTE",
      "WITH d AS (DELETE FROM medications RETURNING id) SELECT id FROM d",
      /not allowed/,
    ],
    ["pg_sleep", "SELECT pg_sleep(1), id FROM encounters LIMIT 1", /denied functions: pg_sleep/],
    ["file access", "SELECT pg_read_file('/etc/passwd')", /denied functions: pg_read_file/],
    [
      "dynamic SQL through XML",
      "SELECT query_to_xml('select ssn from patients', true, false, '')",
      /denied functions: query_to_xml/,
    ],
    [
      "set_config",
      "SELECT set_config('statement_timeout', '0', false)",
      /session statements are not allowed|denied functions: set_config/,
    ],
    [
      "a system catalog",
      "SELECT rolname, rolpassword FROM pg_authid",
      /pg_catalog\.pg_authid is not granted/,
    ],
    ["whole rows of patients", "SELECT p FROM patients p WHERE id = 1", /whole rows of public\.patients/],
    [
      "JSON built from PHI",
      "SELECT json_build_object('s', ssn) FROM patients WHERE id = 1",
      /public\.patients\.ssn is used in a function \(json_build_object\)/,
    ],
    [
      "a predicate on a protected column (no approval makes it safe)",
      "SELECT id FROM patients WHERE ssn LIKE '1%' LIMIT 10",
      /public\.patients\.ssn is used in .*a WHERE condition/,
    ],
    [
      "ordering by a protected column",
      "SELECT id FROM patients ORDER BY dob LIMIT 10",
      /public\.patients\.dob is used in ORDER BY/,
    ],
  ])("denies %s with reasons in the answer and the record", async (_name, sql, reason) => {
    const answer = await gw.query(nightly, { sql });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("policy_denied");
    expect(answer.body.error.message).toMatch(reason);
    const session = await recorded(answer.body.error.sessionId);
    expect(session.status).toBe("rejected");
    expect(session.decision.outcome).toBe("deny");
    expect(session.decision.reasons.join(" ")).toMatch(reason);
  });

  it.each([
    [
      "every patient's full history",
      "SELECT p.*, e.* FROM patients p JOIN encounters e ON e.patient_id = p.id",
      "full-history",
    ],
    ["a bulk PHI read", "SELECT id, ssn FROM patients", "bulk-phi-read"],
    [
      "a lookup by SSN (the demo policy's rule says approval)",
      "SELECT id FROM patients WHERE ssn = '123-45-6789'",
      "opacity",
    ],
  ])("sends %s to approval (dry run shows the rule)", async (_name, sql, rule) => {
    const answer = await gw.query(nightly, { sql, dryRun: true });
    expect(answer.status).toBe(200);
    expect(answer.body.decision).toBe("require_approval");
    expect(answer.body.reasons.join(" ")).toContain(rule);
  });

  it("refuses more than one statement, and unparsable SQL with PostgreSQL's message and position", async () => {
    const multiple = await gw.query(nightly, { sql: "SELECT 1; SELECT 2" });
    expect(multiple.status).toBe(400);
    expect(multiple.body.error.code).toBe("multiple_statements");
    const smuggled = await gw.query(nightly, {
      sql: "SELECT id FROM encounters LIMIT 1; DROP TABLE encounters",
    });
    expect(smuggled.status).toBe(400);
    const invalid = await gw.query(nightly, { sql: "SELECT FROM WHERE" });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({
      code: "invalid_sql",
      message: expect.stringMatching(/syntax error/),
    });
    expect(invalid.body.error.details.position).toBeGreaterThan(0);
  });

  it("decides by the parse tree, not by the text: comments and quoting change nothing", async () => {
    const tricky = await gw.query(nightly, {
      sql: 'SELECT id /* FROM patients */ FROM "encounters" -- ; DROP TABLE x\n LIMIT 1',
    });
    expect(tricky.status).toBe(200);
    expect(tricky.body.rowCount).toBe(1);
    const hidden = await gw.query(nightly, { sql: "SELECT/**/pg_sleep(0)" });
    expect(hidden.status).toBe(403);
  });

  it("binds parameters, never interpolates them", async () => {
    const answer = await gw.query(nightly, {
      sql: "SELECT id, department FROM encounters WHERE department = $1 ORDER BY id LIMIT 3",
      params: ["Emergency'; DROP TABLE encounters; --"],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.rowCount).toBe(0);
    const wrongCount = await gw.query(nightly, {
      sql: "SELECT id FROM encounters WHERE id = $1 LIMIT 1",
      params: [],
    });
    expect(wrongCount.status).toBe(400);
    expect(wrongCount.body.error.code).toBe("invalid_params");
  });
});
