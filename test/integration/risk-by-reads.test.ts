// Risk by what a statement will read: an always-true predicate restricts nothing, and a large read paged in LIMIT/OFFSET slices is one read (both backends).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ehrBackends } from "#test/support/ehr-backends.ts";
import { NIGHTLY, type TestGateway } from "#test/support/gateway.ts";

const backends = ehrBackends();

const ALL_PHI = "SELECT id, ssn, first_name, last_name, dob, zip, mrn FROM patients";
const HISTORY =
  "SELECT p.id, p.first_name, e.admitted_at FROM patients p JOIN encounters e ON e.patient_id = p.id";
const PAGE = `${HISTORY} WHERE p.id > 0 AND e.id > 0 ORDER BY e.id`;

describe.each(backends)("risk by reads against $name", (backend) => {
  let gw: TestGateway;
  let nightly: string;

  beforeAll(async () => {
    gw = await backend.start();
    nightly = await gw.token(NIGHTLY);
  });
  afterAll(async () => {
    try {
      await gw?.close();
    } finally {
      await backend.stop();
    }
  });

  it("needs the bulk-PHI approval for a predicate that is always true", async () => {
    for (const where of ["WHERE id > 0", "WHERE id IS NOT NULL", "WHERE id > 0 AND zip IS NOT NULL"]) {
      const answer = await gw.query(nightly, { sql: `${ALL_PHI} ${where}`, dryRun: true });
      expect(answer.status, where).toBe(200);
      expect(answer.body.decision, where).toBe("require_approval");
      expect(answer.body.reasons.join(" "), where).toMatch(/bulk-phi-read/);
      expect(answer.body.reasons.join(" "), where).toMatch(
        /planner estimates to leave more than 1000 PHI rows/,
      );
    }
    const real = await gw.query(nightly, { sql: `${ALL_PHI} WHERE id > 0` });
    expect(real.status).toBe(202);
  });

  it("still runs a predicate that restricts (by the planner's estimate) or a key lookup", async () => {
    const one = await gw.query(nightly, { sql: `${ALL_PHI} WHERE id = 7` });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(one.body.rows).toHaveLength(1);
    const few = await gw.query(nightly, { sql: `${ALL_PHI} WHERE id BETWEEN 10 AND 19` });
    expect(few.status, JSON.stringify(few.body)).toBe(200);
    const mrn = await gw.query(nightly, { sql: "SELECT id FROM patients WHERE mrn = 'MRN-0000001'" });
    expect(mrn.status, JSON.stringify(mrn.body)).toBe(200);
  });

  it("needs the full-history approval for the join whatever always-true predicates it carries", async () => {
    const answer = await gw.query(nightly, {
      sql: `${HISTORY} WHERE p.id > 0 AND e.id > 0 LIMIT 10000 OFFSET 20000`,
    });
    expect(answer.status).toBe(202);
    expect(answer.body.approval.reasons.join(" ")).toMatch(/full-history/);
  });

  it("counts LIMIT/OFFSET slices of one read together: the bulk read needs its approval however it is sliced", async () => {
    const statuses: number[] = [];
    for (let page = 0; page < 5; page++) {
      const answer = await gw.query(nightly, {
        sql: `${PAGE} LIMIT 150 OFFSET ${page * 150}`,
      });
      statuses.push(answer.status);
      if (answer.status === 202)
        expect(answer.body.approval.reasons.join(" ")).toMatch(
          /returned more than \d+ PHI rows \(2 per result row\) without an approval/,
        );
    }
    // Slices of 150 rows, each a patient and an encounter (300 PHI rows): after 900 the next may return 100 PHI
    // rows more (its budget), so it and the next need approval; a lookup of one patient (within the budget) does not.
    expect(statuses).toEqual([200, 200, 200, 202, 202]);
    const lookup = await gw.query(nightly, { sql: `${ALL_PHI} WHERE id = 8` });
    expect(lookup.status, JSON.stringify(lookup.body)).toBe(200);
    const other = await gw.query(nightly, { sql: "SELECT id, state FROM patients WHERE id = 8" });
    expect(other.status, JSON.stringify(other.body)).toBe(200);
    const record = await gw.host.deps.sessions.get(
      (await gw.query(nightly, { sql: `${PAGE} LIMIT 150 OFFSET 750` })).body.sessionId,
    );
    expect(record?.status).toBe("pending_approval");
    // The three slices, the two lookups, and the few PHI rows earlier tests gave this caller.
    expect(record?.decision.windowRows).toBeGreaterThanOrEqual(901);
    expect(record?.decision.windowRows).toBeLessThan(1000);
  });
});
