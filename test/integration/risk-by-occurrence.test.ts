// PHI rows per occurrence of a protected table (both backends): self-joins, CTEs, subqueries and UNION ALL slices count each occurrence in the decision, the row budget and the caller's window.

import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SELECTION_BITS } from "#shared/policy/risk.ts";
import { ehrBackends } from "#test/support/ehr-backends.ts";
import type { TestGateway } from "#test/support/gateway.ts";

/** One caller per test, each its own policy principal (so the window is its own whatever keys it). */
const CALLERS = ["join", "columns", "cte", "scalar", "union", "budget", "ledger", "plain", "other"] as const;
type Caller = (typeof CALLERS)[number];

const subjectOf = (caller: Caller): string => `repo:acme/occurrences:ref:refs/heads/${caller}`;

/** The demo policy with the nightly job's entry repeated for each caller. */
async function occurrencesPolicy(): Promise<string> {
  const demo = await readFile("policy/demo.yaml", "utf8");
  const start = demo.indexOf("  - id: nightly-report\n");
  const end = demo.indexOf("\nmasking:", start);
  if (start < 0 || end < 0) throw new Error("the demo policy's nightly entry moved");
  const entry = demo.slice(start, end);
  const entries = CALLERS.map((caller) =>
    entry
      .replace("id: nightly-report", `id: occurrences-${caller}`)
      .replace('sub: "repo:acme/ehr-reports:ref:refs/heads/main"', `sub: "${subjectOf(caller)}"`),
  );
  return `${demo.slice(0, start)}${entries.join("")}${demo.slice(end)}`;
}

const backends = ehrBackends();

/** `patients` joined to itself `n` times on key offsets, each occurrence selecting `columns(i)`. */
function selfJoin(n: number, columns: (i: number) => string, where: string): string {
  const select = Array.from({ length: n }, (_, i) => columns(i)).join(", ");
  const joins = Array.from(
    { length: n - 1 },
    (_, k) => `JOIN patients p${k + 1} ON p${k + 1}.id = p0.id + ${(k + 1) * 1000}`,
  );
  return `SELECT ${select} FROM patients p0 ${joins.join(" ")} WHERE ${where}`;
}

/** Ten key slices in one UNION ALL. */
const TEN_SLICES = Array.from(
  { length: 10 },
  (_, k) => `SELECT id FROM patients WHERE id BETWEEN ${k * 100 + 1} AND ${(k + 1) * 100}`,
).join(" UNION ALL ");

describe.each(backends)("PHI rows by occurrence against $name", (backend) => {
  let gw: TestGateway;
  const tokens = new Map<Caller, string>();

  beforeAll(async () => {
    gw = await backend.start({ policy: await occurrencesPolicy() });
    for (const caller of CALLERS) tokens.set(caller, await gw.token(subjectOf(caller)));
  }, 120_000);
  afterAll(async () => {
    try {
      await gw?.close();
    } finally {
      await backend.stop();
    }
  });

  async function ask(caller: Caller, sql: string) {
    return gw.query(tokens.get(caller) ?? "", { sql });
  }

  /** A 1,000-row answer carrying `weight` patients per row needs the bulk read's approval before it runs. */
  async function needsApproval(caller: Caller, sql: string, weight: number): Promise<void> {
    const answer = await ask(caller, sql);
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(answer.body.rows).toBeUndefined();
    expect(answer.body.approval.reasons.join(" ")).toMatch(
      new RegExp(`more than 1000 PHI rows \\(${weight} PHI rows per result row\\) \\(bulk-phi-read`),
    );
    const record = await gw.host.deps.sessions.get(answer.body.sessionId);
    expect(record?.decision.occurrences).toEqual({ "public.patients": weight });
  }

  it("sends the ten-way self-join's 1,000 rows (10,000 patients) to approval", async () => {
    await needsApproval(
      "join",
      `${selfJoin(10, (i) => `p${i}.ssn, p${i}.last_name`, "p0.id > 0")} LIMIT 1000`,
      10,
    );
  });

  it("counts an occurrence whose one column differs from every other's", async () => {
    const columns = ["ssn", "dob", "last_name", "first_name", "zip"];
    await needsApproval("columns", `${selfJoin(5, (i) => `p${i}.${columns[i]}`, "p0.id > 0")} LIMIT 1000`, 5);
  });

  it("counts a CTE referenced twice as two occurrences", async () => {
    await needsApproval(
      "cte",
      "WITH s AS (SELECT id, ssn, mrn FROM patients) SELECT a.ssn, a.mrn, b.ssn, b.mrn FROM s a JOIN s b ON b.id = a.id + 5000 WHERE a.id > 0 LIMIT 1000",
      2,
    );
  });

  it("counts a scalar subquery per row as an occurrence", async () => {
    await needsApproval(
      "scalar",
      "SELECT p.ssn, (SELECT q.mrn FROM patients q WHERE q.id = p.id + 5000) FROM patients p WHERE p.id > 0 LIMIT 1000",
      // Two scans, and the subquery's cell is not a column as it is; the subquery is tied to no unique key
      // (`p.id + 5000` is computed), so it may choose among both scans' rows: 32 more per scan.
      3 + 2 * SELECTION_BITS,
    );
  });

  it("counts the occurrences behind UNION ALL key slices", async () => {
    await needsApproval(
      "union",
      `SELECT a.ssn, b.ssn, c.ssn FROM (${TEN_SLICES}) k JOIN patients a ON a.id = k.id JOIN patients b ON b.id = k.id + 3000 JOIN patients c ON c.id = k.id + 6000`,
      // Every scan counts: three occurrences in the result and the ten slices that pick their rows.
      13,
    );
  });

  it("weighs the row budget: a misjudged self-join returning 500 rows of 5 patients each keeps nothing", async () => {
    // Five occurrences: more protected values per row would fire many-phi-columns (each is a PHI column).
    const sql = selfJoin(5, (i) => `p${i}.mrn`, "p0.id % 1 = 0 AND p0.id <= 500");
    const dry = await gw.query(tokens.get("budget") ?? "", { sql, dryRun: true });
    expect(dry.body.decision, JSON.stringify(dry.body)).toBe("allow");
    const answer = await ask("budget", sql);
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    expect(answer.body.rows).toBeUndefined();
    // The dry run above, decided by the planner's estimate, counted one PHI row of the window.
    expect(answer.body.approval.reasons).toEqual([
      "returned more than 999 PHI rows (5 per result row) without an approval (bulk-phi-read)",
    ]);
  });

  it("weighs the caller's window: 300 rows of a two-way self-join are 600 PHI rows", async () => {
    // About 10^2 rows as the rules see the estimate (they decide by its order of magnitude), 2 PHI rows each.
    const pairs = await ask(
      "ledger",
      "SELECT a.ssn, b.ssn FROM patients a JOIN patients b ON b.id = a.id + 5000 WHERE a.id BETWEEN 1 AND 300",
    );
    expect(pairs.status, JSON.stringify(pairs.body)).toBe(200);
    expect(pairs.body.rows).toHaveLength(300);
    // 600 taken: 401 more are over the 1000.
    const more = await ask("ledger", "SELECT id, ssn FROM patients WHERE id BETWEEN 2001 AND 2401");
    expect(more.status, JSON.stringify(more.body)).toBe(202);
    expect(more.body.approval.reasons.join(" ")).toMatch(
      /returned more than 400 PHI rows without an approval/,
    );
  });

  it("counts a plain read of several protected columns once: 900 rows run", async () => {
    const answer = await ask(
      "plain",
      "SELECT id, ssn, first_name, last_name, dob, zip, mrn FROM patients WHERE id BETWEEN 1 AND 900",
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.rows).toHaveLength(900);
    const record = await gw.host.deps.sessions.get(answer.body.sessionId);
    expect(record?.decision.occurrences).toBeUndefined();
    expect(record?.decision.rowBudget).toEqual({
      rows: 1000,
      rule: "bulk-phi-read",
      action: "require_approval",
    });
  });

  it("counts patients joined to medications as a row of each, masked columns or not", async () => {
    const answer = await ask(
      "other",
      "SELECT p.ssn, p.dob, m.drug, m.dose FROM patients p JOIN medications m ON m.patient_id = p.id WHERE p.id BETWEEN 1 AND 60 AND m.id > 0",
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const record = await gw.host.deps.sessions.get(answer.body.sessionId);
    expect(record?.decision.occurrences).toBeUndefined();
    expect(record?.decision.phiTables).toEqual(["public.medications", "public.patients"]);
    expect(record?.decision.rowBudget?.weight).toBe(2);
    const rows = answer.body.rows.length;
    // The window holds both tables' rows: a read of the rest of the 1000 fits, one row more does not.
    const rest = 1000 - 2 * rows;
    const over = await ask(
      "other",
      `SELECT id, ssn FROM patients WHERE id BETWEEN 5001 AND ${5000 + rest + 1}`,
    );
    expect(over.status, JSON.stringify(over.body)).toBe(202);
    expect(over.body.approval.reasons.join(" ")).toContain(`returned more than ${rest} PHI rows`);
  });
});
