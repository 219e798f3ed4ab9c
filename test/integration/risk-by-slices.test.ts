// A caller's PHI rows add up per window, across PHI tables and masked or not, however the read is sliced: key ranges, modulo, other column lists (both backends).

import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ehrBackends } from "#test/support/ehr-backends.ts";
import type { TestGateway } from "#test/support/gateway.ts";

/** Branch prefixes each matched by their own policy principal entry (the window and turns are per entry). */
const CALLERS = [
  "between",
  "modulo",
  "columns",
  "per-caller",
  "another-caller",
  "cross-join",
  "shared",
  "parallel",
  "unmasked",
  "tables",
  "over-budget",
  "dry-runs",
  "pending",
];

/**
 * The demo policy with the nightly job's entry repeated once per test caller, each matching every branch that
 * starts with the caller's name, so each test is its own principal and one test's branches share one.
 */
async function slicesPolicy(): Promise<string> {
  const demo = await readFile("policy/demo.yaml", "utf8");
  const start = demo.indexOf("  - id: nightly-report\n");
  const end = demo.indexOf("\nmasking:", start);
  const entry = demo.slice(start, end).trimEnd();
  if (start < 0 || !entry.includes('sub: "repo:acme/ehr-reports:ref:refs/heads/main"'))
    throw new Error("the demo policy's nightly entry moved");
  const entries = CALLERS.map((name) =>
    entry
      .replace("id: nightly-report", `id: slices-${name}`)
      .replace(
        'sub: "repo:acme/ehr-reports:ref:refs/heads/main"',
        `sub: "repo:acme/slices:ref:refs/heads/${name}*"`,
      ),
  );
  return `${demo.slice(0, start)}${entries.join("\n")}\n${demo.slice(end)}`;
}

const backends = ehrBackends();

describe.each(backends)("sliced PHI reads against $name", (backend) => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await backend.start({ policy: await slicesPolicy() });
  });
  afterAll(async () => {
    try {
      await gw?.close();
    } finally {
      await backend.stop();
    }
  });

  /** Runs each statement as one caller (a branch) and returns the answers' statuses. */
  async function statuses(branch: string, statements: readonly string[]): Promise<number[]> {
    const token = await gw.token(`repo:acme/slices:ref:refs/heads/${branch}`);
    const seen: number[] = [];
    for (const sql of statements) {
      const answer = await gw.query(token, { sql });
      seen.push(answer.status);
      if (answer.status === 202)
        expect(answer.body.approval.reasons.join(" "), sql).toMatch(
          /already returned to this caller|returned more than \d+ PHI rows without an approval/,
        );
      else expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    }
    return seen;
  }

  it("counts slices of a PHI table's columns that have no masking rule (the fourth outside attack)", async () => {
    // encounters.diagnosis_code and medications.drug/dose have no masking rule; they are still rows of PHI tables.
    const slices = [0, 1, 2].map(
      (k) => `SELECT patient_id, diagnosis_code FROM encounters ORDER BY id LIMIT 500 OFFSET ${k * 500}`,
    );
    expect(await statuses("unmasked", slices)).toEqual([200, 200, 202]);
  });

  it("counts slices taken from several PHI tables in one window (the fourth outside attack)", async () => {
    expect(
      await statuses("tables", [
        "SELECT id, ssn FROM patients ORDER BY id LIMIT 600",
        "SELECT patient_id, diagnosis_code FROM encounters ORDER BY id LIMIT 600",
        "SELECT patient_id, drug, dose FROM medications ORDER BY id LIMIT 600",
      ]),
    ).toEqual([200, 202, 202]);
  });

  it("counts a statement that ran over its row budget: its going over is an answer too (the tenth outside attack, F4)", async () => {
    const token = await gw.token("repo:acme/slices:ref:refs/heads/over-budget");
    expect(
      await statuses("over-budget", ["SELECT id, ssn FROM patients WHERE id BETWEEN 1 AND 995"]),
    ).toEqual([200]);
    // The planner misjudges `id % 1 = 0`: allowed with the five rows left, it runs and goes over (400 rows, or
    // none: either is an answer).
    const over = "SELECT id, ssn FROM patients WHERE id % 1 = 0 AND id BETWEEN 2001 AND 2400";
    for (let i = 0; i < 5; i++) {
      const answer = await gw.query(token, { sql: over });
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      expect(answer.body.approval.reasons.join(" ")).toMatch(/returned more than \d+ PHI rows/);
    }
    // Five over-budget runs counted (one PHI row each): the window is spent.
    expect(await statuses("over-budget", ["SELECT id, ssn FROM patients WHERE id = 7"])).toEqual([202]);
  });

  /**
   * Takes 995 of the caller's 1,000 rows, then sends five probes (each answered `status` without running), then
   * expects a one-row read to need the approval: the five probes were counted, one PHI row each.
   */
  async function probesSpendTheWindow(caller: string, probe: (k: number) => unknown, status: number) {
    const token = await gw.token(`repo:acme/slices:ref:refs/heads/${caller}`);
    expect(await statuses(caller, ["SELECT id, ssn FROM patients WHERE id BETWEEN 1 AND 995"])).toEqual([
      200,
    ]);
    for (let k = 0; k < 5; k++) {
      const answer = await gw.query(token, probe(k));
      expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    }
    expect(await statuses(caller, ["SELECT id, ssn FROM patients WHERE id = 7"])).toEqual([202]);
  }

  it("counts a dry run decided by the planner's estimate as a PHI row: its answer tells the estimate (the twenty-first outside attack)", async () => {
    await probesSpendTheWindow(
      "dry-runs",
      (k) => ({
        sql: `SELECT e.id FROM encounters e, encounters e2 WHERE e.patient_id = ${100 + k} AND e2.id <= 5000`,
        dryRun: true,
      }),
      200,
    );
  });

  it("counts a 202 decided with the planner's estimate as a PHI row: its reasons tell the estimate too (the twenty-fourth outside attack)", async () => {
    // Seven PHI columns force the approval; the estimate still decides which other rules the reasons name.
    await probesSpendTheWindow(
      "pending",
      (k) => ({
        sql: `SELECT p.mrn, p.dob, p.zip, p.phone, p.email, p.address, p.city FROM patients p WHERE p.id = ${100 + k}`,
      }),
      202,
    );
  });

  it("counts key ranges written as literals (BETWEEN) as one read", async () => {
    const slices = [0, 1, 2, 3].map(
      (k) => `SELECT id, ssn, first_name FROM patients WHERE id BETWEEN ${k * 400 + 1} AND ${(k + 1) * 400}`,
    );
    // After 800 rows the third slice may return 200 more (its budget): it returns 400, so it and the next wait.
    expect(await statuses("between", slices)).toEqual([200, 200, 202, 202]);
  });

  it("counts modulo slices as one read", async () => {
    const slices = [0, 1, 2].map((k) => `SELECT id, last_name, dob FROM patients WHERE id % 20 = ${k}`);
    expect(await statuses("modulo", slices)).toEqual([200, 200, 202]);
  });

  it("counts slices with other column lists, aliases and spacing as one read", async () => {
    const slices = [
      "SELECT id, ssn FROM patients WHERE id > 0 AND id <= 400",
      "select p.first_name, p.id\n  from public.patients p where p.id > 400 and p.id <= 800",
      "SELECT zip AS z FROM patients AS x WHERE x.id >= 801 AND x.id < 1201",
      "SELECT id, ssn FROM patients WHERE id > 1200 AND id <= 1600",
    ];
    expect(await statuses("columns", slices)).toEqual([200, 200, 202, 202]);
  });

  it("counts per caller across PHI tables: another table's slices and counts count too; another caller still runs", async () => {
    const first = [0, 1, 2].map(
      (k) => `SELECT id, ssn FROM patients WHERE id BETWEEN ${k * 500 + 1} AND ${(k + 1) * 500}`,
    );
    expect(await statuses("per-caller", first)).toEqual([200, 200, 202]);
    // Many small lookups add up too: the same caller's next PHI row of patients needs the approval.
    expect(await statuses("per-caller", ["SELECT id, ssn FROM patients WHERE id = 7"])).toEqual([202]);
    // The window is the caller's, not a table's (the fourth outside attack took 1,000 rows from each PHI table):
    // encounters' rows count, masked columns or not, and so do patients' unmasked columns.
    expect(
      await statuses("per-caller", [
        "SELECT id, patient_id FROM encounters WHERE id BETWEEN 1 AND 400",
        "SELECT id, diagnosis_code FROM encounters WHERE id BETWEEN 1 AND 400",
        "SELECT id, drug, dose FROM medications WHERE id BETWEEN 1 AND 400",
        "SELECT id, state FROM patients WHERE id BETWEEN 2001 AND 2400",
      ]),
    ).toEqual([202, 202, 202, 202]);
    // A count is a fact about the table too (per patient, an oracle): it waits as well; a read of no table runs.
    expect(
      await statuses("per-caller", ["SELECT count(*) FROM encounters WHERE id BETWEEN 1 AND 400"]),
    ).toEqual([202]);
    expect(await statuses("per-caller", ["SELECT 1 AS one"])).toEqual([200]);
    expect(
      await statuses("another-caller", ["SELECT id, ssn FROM patients WHERE id BETWEEN 1 AND 500"]),
    ).toEqual([200]);
  });

  it("counts every subject a principal entry matches as one caller: two branches share one window", async () => {
    const slice = (k: number) =>
      `SELECT id, ssn FROM patients WHERE id BETWEEN ${5001 + k * 400} AND ${5000 + (k + 1) * 400}`;
    expect(await statuses("shared-a", [slice(0), slice(1)])).toEqual([200, 200]);
    // The other branch's third slice would exceed what is left of the entry's 1,000 rows (200).
    expect(await statuses("shared-b", [slice(2)])).toEqual([202]);
  });

  it("lets parallel slices of one principal entry's branches take turns: together they stay in one budget", async () => {
    const answers = await Promise.all(
      [0, 1, 2].map(async (k) => {
        const token = await gw.token(`repo:acme/slices:ref:refs/heads/parallel-${k}`);
        const sql = `SELECT id, first_name FROM patients WHERE id BETWEEN ${k * 400 + 1} AND ${(k + 1) * 400}`;
        return gw.query(token, { sql });
      }),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 202]);
  });

  it("does not let a protected lookup restrict another occurrence: cross joins with an always-true predicate need approval", async () => {
    const token = await gw.token("repo:acme/slices:ref:refs/heads/cross-join");
    const lookup = "b.mrn = 'MRN-0000001'";
    for (const sql of [
      `SELECT a.ssn, a.first_name FROM patients a, patients b WHERE ${lookup} AND a.id > 0`,
      `SELECT a.ssn, a.first_name FROM patients a CROSS JOIN patients b WHERE ${lookup} AND a.id IS NOT NULL`,
      `SELECT a.ssn FROM patients a JOIN patients b ON ${lookup} WHERE a.id > 0`,
      `SELECT e.notes, e.admitted_at FROM encounters e, patients b WHERE ${lookup} AND e.id > 0`,
      `SELECT a.ssn FROM patients b, (SELECT id, ssn FROM patients WHERE id > 0) a WHERE ${lookup}`,
    ]) {
      const answer = await gw.query(token, { sql, dryRun: true });
      expect(answer.status, sql).toBe(200);
      expect(answer.body.decision, sql).toBe("require_approval");
      expect(answer.body.reasons.join(" "), sql).toMatch(/bulk-phi-read|full-history/);
    }
    // A lookup that restricts what the statement reads still runs: one patient, one patient's history.
    for (const sql of [
      "SELECT id, ssn FROM patients WHERE mrn = 'MRN-0000002'",
      "SELECT p.id, e.admitted_at FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.mrn = 'MRN-0000003' AND e.id > 0",
      "SELECT a.ssn FROM patients a JOIN patients b ON a.id = b.id WHERE b.mrn IN ('MRN-0000004', 'MRN-0000005')",
    ]) {
      const answer = await gw.query(token, { sql });
      expect(answer.status, `${sql}: ${JSON.stringify(answer.body)}`).toBe(200);
    }
  });
});
