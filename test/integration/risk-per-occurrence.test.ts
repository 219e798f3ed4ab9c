// PHI rows per occurrence of a protected table (both backends): each shape that puts several patients in one result row counts each of them.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import {
  type PostgresServer,
  postgresUnavailableReason,
  startPostgresServer,
} from "#test/support/postgres-server.ts";
import { seedEhr } from "#tools/ehr/seed.ts";

interface Backend {
  name: string;
  start(): Promise<TestGateway>;
  stop(): Promise<void>;
}

let server: PostgresServer | undefined;
const backends: Backend[] = [
  { name: "embedded PGlite", start: () => startTestGateway(), stop: async () => {} },
];
if (postgresUnavailableReason() === undefined || process.env.PHIGATE_REQUIRE_POSTGRES === "1") {
  backends.push({
    name: "a PostgreSQL server (DATABASE_URL)",
    async start() {
      server = await startPostgresServer({ database: "ehr" });
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        await seedEhr(client);
        await client.query("ANALYZE");
      } finally {
        await client.end();
      }
      return startTestGateway({ databaseUrl: server.url });
    },
    stop: async () => server?.stop(),
  });
}

/** `n` occurrences of patients joined on key offsets; occurrence i returns `columns(i)`. */
function selfJoin(n: number, where: string, columns: (i: number) => string): string {
  const select = Array.from({ length: n }, (_, i) => columns(i));
  const joins = Array.from(
    { length: n - 1 },
    (_, i) => `JOIN patients p${i + 1} ON p${i + 1}.id = p0.id + ${(i + 1) * 1000}`,
  );
  return `SELECT ${select.join(", ")} FROM patients p0 ${joins.join(" ")} WHERE ${where}`;
}

/**
 * Statements whose result rows (600 to 1,000, each planner estimate under the rule's 1,000) each carry two to ten
 * patients: counted per result row they were answered unapproved.
 */
const SHAPES: readonly { readonly name: string; readonly sql: string; readonly weight: number }[] = [
  {
    name: "ten self-joined occurrences, each returning its masked identifiers",
    sql: selfJoin(10, "p0.id BETWEEN 1 AND 1000", (i) => `p${i}.ssn AS ssn${i}, p${i}.last_name AS name${i}`),
    weight: 10,
  },
  {
    name: "three occurrences, each returning a different protected column once",
    sql: "SELECT p0.ssn, p1.dob, p2.last_name FROM patients p0 JOIN patients p1 ON p1.id = p0.id + 1000 JOIN patients p2 ON p2.id = p0.id + 2000 WHERE p0.id BETWEEN 1 AND 600",
    weight: 3,
  },
  {
    name: "a CTE referenced twice",
    sql: "WITH s AS (SELECT id, ssn FROM patients WHERE id BETWEEN 1 AND 600) SELECT a.ssn, b.ssn AS other FROM s a JOIN s b ON b.id = a.id",
    weight: 2,
  },
  {
    name: "a scalar subquery per row",
    sql: "SELECT p.ssn, (SELECT q.ssn FROM patients q WHERE q.id = p.id + 5000) AS other FROM patients p WHERE p.id BETWEEN 1 AND 600",
    weight: 2,
  },
  {
    name: "a LATERAL occurrence",
    sql: "SELECT p.ssn, q.last_name FROM patients p CROSS JOIN LATERAL (SELECT last_name FROM patients WHERE id = p.id + 5000) q WHERE p.id BETWEEN 1 AND 600",
    weight: 2,
  },
];

describe.each(backends)("PHI rows per occurrence against $name", (backend) => {
  let gw: TestGateway;
  let nightly: string;

  beforeAll(async () => {
    gw = await backend.start();
    nightly = await gw.token(NIGHTLY);
  }, 120_000);
  afterAll(async () => {
    try {
      await gw?.close();
    } finally {
      await backend.stop();
    }
  });

  /** The decision recorded for a session. */
  async function decisionOf(sessionId: string) {
    const record = await gw.host.deps.sessions.get(sessionId);
    if (record === undefined) throw new Error("the session was not recorded");
    return record;
  }

  // Nothing is kept by these: the window stays empty for the reads below.
  it.each(SHAPES)("sends $name to approval, keeping nothing", async ({ sql, weight }) => {
    const answer = await gw.query(nightly, { sql });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(answer.body.rows).toBeUndefined();
    const record = await decisionOf(answer.body.sessionId);
    expect(record.decision.occurrences).toEqual({ "public.patients": weight });
    expect(record.result).toBeNull();
  });

  it("refuses a UNION ALL of slices of occurrences: protected values do not pass through a set operation", async () => {
    const sql = [
      "SELECT p0.ssn, p1.ssn AS other FROM patients p0 JOIN patients p1 ON p1.id = p0.id + 5000 WHERE p0.id BETWEEN 1 AND 300",
      "SELECT p0.ssn, p1.ssn FROM patients p0 JOIN patients p1 ON p1.id = p0.id + 5000 WHERE p0.id BETWEEN 301 AND 600",
    ].join(" UNION ALL ");
    const answer = await gw.query(nightly, { sql });
    expect(answer.status, JSON.stringify(answer.body)).toBe(403);
    expect(answer.body.rows).toBeUndefined();
    expect(answer.body.error.message).toMatch(/used in a set operation \(UNION ALL\)/);
  });

  it("divides the execution-time budget by the occurrences: a misjudged self-join keeps nothing", async () => {
    // The planner thinks `id % 1 = 0` leaves a handful of rows; ten occurrences of 300 rows are returned.
    const sql = selfJoin(10, "p0.id % 1 = 0 AND p0.id <= 300", (i) => `p${i}.ssn AS ssn${i}`);
    const answer = await gw.query(nightly, { sql });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(answer.body.rows).toBeUndefined();
    expect(answer.body.approval.reasons.join(" ")).toMatch(
      /returned more than 1000 PHI rows \(10 per result row\) without an approval \(bulk-phi-read\)/,
    );
    const record = await decisionOf(answer.body.sessionId);
    expect(record.decision.rowBudget).toMatchObject({ rows: 1000, weight: 10, rule: "bulk-phi-read" });
    expect(record.result).toBeNull();
  });

  it("counts a single occurrence once, and a join to unprotected columns once, in the caller's window", async () => {
    const single = await gw.query(nightly, {
      sql: "SELECT id, ssn, mrn, first_name, last_name, dob, zip FROM patients WHERE id BETWEEN 7001 AND 7100",
    });
    expect(single.status, JSON.stringify(single.body)).toBe(200);
    expect(single.body.rows).toHaveLength(100);
    expect((await decisionOf(single.body.sessionId)).decision.occurrences).toBeUndefined();

    const joined = await gw.query(nightly, {
      sql: "SELECT p.ssn, m.drug, m.dose FROM patients p JOIN medications m ON m.patient_id = p.id WHERE p.id BETWEEN 7101 AND 7150 AND m.patient_id BETWEEN 7101 AND 7150",
    });
    expect(joined.status, JSON.stringify(joined.body)).toBe(200);
    const joinedRows = joined.body.rows.length;
    expect(joinedRows).toBeGreaterThan(0);
    expect((await decisionOf(joined.body.sessionId)).decision.occurrences).toBeUndefined();

    // Three occurrences of 100 rows: 300 PHI rows of patients.
    const tripled = await gw.query(nightly, {
      sql: selfJoin(3, "p0.id BETWEEN 6001 AND 6100", (i) => `p${i}.ssn AS ssn${i}`),
    });
    expect(tripled.status, JSON.stringify(tripled.body)).toBe(200);
    expect(tripled.body.rows).toHaveLength(100);

    const next = await gw.query(nightly, {
      sql: "SELECT id, ssn FROM patients WHERE id = 9999",
      dryRun: true,
    });
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    const counted = (await decisionOf(next.body.sessionId)).decision.windowRows;
    expect(counted).toBe(100 + joinedRows + 300);
  });
});
