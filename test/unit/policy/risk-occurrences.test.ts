// PHI rows weighed by occurrences: a result row that carries several occurrences of a protected table counts once per occurrence in the decision, the budget and the ledger.

import { beforeAll, describe, expect, it } from "vitest";
import { type LoadedPolicy, parsePolicy } from "#shared/policy/load.ts";
import { SELECTION_BITS } from "#shared/policy/risk.ts";
import { decideStatement } from "#shared/sessions/decide.ts";
import { classify } from "#shared/sql/classify.ts";
import { loadSqlParser, parseStatement } from "#shared/sql/parser.ts";
import type { Catalog, Classification } from "#shared/sql/types.ts";
import { demoPolicyWith } from "#test/support/approvals.ts";
import { ddlCatalog } from "#test/support/builtins.ts";
import { NIGHTLY_PRINCIPAL } from "#test/support/nightly-principal.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

const NIGHTLY = NIGHTLY_PRINCIPAL;
/** Diagnosis codes of the demo EHR, for keys packed from them. */
const CODES = ["I10", "J06.9", "E11.9", "M54.5", "F41.1", "K21.9", "E78.5"];

let demo: LoadedPolicy;
let catalog: Catalog;

const classified = (sql: string): Classification => classify(parseStatement(sql), catalog);

async function decide(sql: string, estimate: number, window = 0) {
  const { decision } = await decideStatement({
    policy: demo,
    context: { devIssuer: undefined },
    principal: NIGHTLY,
    classification: classified(sql),
    purpose: null,
    estimateRows: async () => estimate,
    windowRows: async () => window,
  });
  return decision;
}

/** `patients` joined to itself `n` times on key offsets, each occurrence selecting `columns(i)`. */
function selfJoin(n: number, columns: (i: number) => string): string {
  const select = Array.from({ length: n }, (_, i) => columns(i)).join(", ");
  const joins = Array.from({ length: n - 1 }, (_, k) => {
    const i = k + 1;
    return `JOIN patients p${i} ON p${i}.id = p0.id + ${i * 1000}`;
  }).join(" ");
  return `SELECT ${select} FROM patients p0 ${joins} WHERE p0.id <= 1000`;
}

const PROTECTED = ["ssn", "dob", "last_name", "first_name", "zip"];

/** Each attack shape and the PHI rows of `patients` one result row takes. */
const WEIGHED: readonly (readonly [string, string, number])[] = [
  ["a ten-way self-join", selfJoin(10, (i) => `p${i}.ssn, p${i}.last_name`), 10],
  // Five columns: under the demo's many-phi-columns rule (more than six distinct protected columns).
  ["a different column from each occurrence", selfJoin(5, (i) => `p${i}.${PROTECTED[i]}`), 5],
  [
    "UNION ALL of key slices under two occurrences",
    `SELECT a.ssn, b.ssn FROM (SELECT id FROM patients WHERE id <= 500 UNION ALL SELECT id FROM patients WHERE id > 9500) k
     JOIN patients a ON a.id = k.id JOIN patients b ON b.id = k.id + 1`,
    4,
  ],
  [
    "a CTE referenced twice",
    "WITH s AS (SELECT id, ssn FROM patients WHERE id <= 5000) SELECT a.ssn, b.ssn FROM s a JOIN s b ON b.id = a.id + 2500",
    2,
  ],
  [
    "a three-way join of occurrences",
    "SELECT a.ssn, b.ssn, c.dob FROM patients a JOIN patients b ON b.id = a.id + 1 JOIN patients c ON c.id = a.id + 2 WHERE a.id <= 3000",
    3,
  ],
  [
    "a scalar subquery per row",
    "SELECT p.ssn, (SELECT q.ssn FROM patients q WHERE q.id = p.id + 5000) FROM patients p WHERE p.id <= 5000",
    // Two scans, and the subquery's cell is not a column as it is (it may carry a value picked elsewhere); the
    // subquery is tied to no unique key (`p.id + 5000` is computed), so it may choose: 32 per scan more.
    3 + 2 * SELECTION_BITS,
  ],
  [
    "a scalar subquery inside a FROM subquery",
    "SELECT x.a, x.b FROM (SELECT p.ssn AS a, (SELECT q.dob FROM patients q WHERE q.id = p.id + 1) AS b FROM patients p WHERE p.id <= 5000) x",
    3 + 2 * SELECTION_BITS,
  ],
  [
    // The third outside attack: a CTE whose body only references another CTE read nothing by itself.
    "a CTE over a CTE, referenced four times",
    `WITH a AS (SELECT id, mrn, dob FROM patients), b AS (SELECT * FROM a)
     SELECT b0.mrn, b1.mrn, b2.dob, b3.dob FROM b b0 JOIN b b1 ON b1.id = b0.id + 100
     JOIN b b2 ON b2.id = b0.id + 200 JOIN b b3 ON b3.id = b0.id + 300 WHERE b0.id <= 100`,
    4,
  ],
  [
    "a doubling chain of CTEs (eight occurrences per row)",
    `WITH c0 AS (SELECT id, mrn FROM patients),
     c1 AS (SELECT a.id, a.mrn AS m0, b.mrn AS m1 FROM c0 a JOIN c0 b ON b.id = a.id + 1),
     c2 AS (SELECT a.id, a.m0, a.m1, b.m0 AS m2, b.m1 AS m3 FROM c1 a JOIN c1 b ON b.id = a.id + 2),
     c3 AS (SELECT a.id, a.m0, a.m1, a.m2, a.m3, b.m0 AS m4, b.m1 AS m5, b.m2 AS m6, b.m3 AS m7
            FROM c2 a JOIN c2 b ON b.id = a.id + 4)
     SELECT m0, m1, m2, m3, m4, m5, m6, m7 FROM c3 WHERE id <= 100`,
    8,
  ],
  [
    "LATERAL",
    "SELECT p.ssn, l.ssn FROM patients p CROSS JOIN LATERAL (SELECT q.ssn FROM patients q WHERE q.id = p.id + 5000) l WHERE p.id <= 5000",
    // Two scans, and whether the LATERAL subquery returns a row decides whether p's does: a choice among the
    // candidates of both scans (32 bits each).
    2 + 2 * SELECTION_BITS,
  ],
];

/** Reads whose result row takes one row of `patients`. */
const SINGLE: readonly (readonly [string, string])[] = [
  [
    "a plain read of several protected columns",
    "SELECT id, ssn, first_name, last_name, dob, zip, mrn FROM patients WHERE id <= 900",
  ],
];

beforeAll(async () => {
  await loadSqlParser();
  catalog = ddlCatalog(EHR_SCHEMA_SQL);
  demo = parsePolicy(await demoPolicyWith([]), "demo");
});

describe("PHI rows by occurrence of a protected table", () => {
  it.each(WEIGHED)("%s counts each occurrence", async (_, sql, weight) => {
    // A small estimate: restricted as result rows, not as PHI rows (the rules see its order of magnitude).
    const estimate = 10 ** (Math.floor(Math.log10(1000 / weight)) + 1);
    const decision = await decide(sql, estimate);
    expect(decision.occurrences).toEqual({ "public.patients": weight });
    expect(decision.outcome, decision.reasons.join("; ")).toBe("require_approval");
    expect(decision.reasons.join(" ")).toMatch(
      new RegExp(`more than 1000 PHI rows \\(${weight} PHI rows per result row\\)`),
    );
    // Under the threshold it runs, with a budget weighed the same way.
    const few = await decide(sql, 1);
    const cells = classified(sql).outputs.length;
    if (cells > 6) {
      // Each occurrence's protected value is a PHI column of the row: p0.ssn … p9.ssn are ten, not one.
      expect(few.rules).toEqual(["grants", "many-phi-columns"]);
      expect(few.reasons.join(" ")).toContain(`${cells} PHI columns flow into the result (more than 6)`);
      return;
    }
    expect(few.outcome, few.reasons.join("; ")).toBe("allow");
    expect(few.rowBudget).toEqual({ rows: 1000, rule: "bulk-phi-read", action: "require_approval", weight });
  });

  it.each(SINGLE)("%s counts once", async (_, sql) => {
    const decision = await decide(sql, 900);
    expect(decision.occurrences).toBeUndefined();
    expect(decision.outcome, decision.reasons.join("; ")).toBe("allow");
    expect(decision.rowBudget?.weight).toBeUndefined();
  });

  it("counts every PHI table read: a join partner as a row, a condition subquery as one per result column", async () => {
    const partner = await decide(
      "SELECT p.ssn, p.dob FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= 300 AND e.id <= 300",
      300,
    );
    expect(partner.phiTables).toEqual(["public.encounters", "public.patients"]);
    expect(partner.occurrences).toBeUndefined();
    expect(partner.rowBudget).toMatchObject({ rows: 1000, weight: 2 });
    // EXISTS decides which rows come back, CASE WHEN EXISTS what each cell says: either is a fact per cell. A
    // condition not tied to its row by a unique key (`q.id = p.id + 1` computes one) also chooses among the
    // candidates: up to 32 bits per result row for the one scan.
    const filtered = await decide(
      "SELECT p.ssn, p.dob FROM patients p WHERE p.id <= 300 AND EXISTS (SELECT 1 FROM patients q WHERE q.id = p.id + 1)",
      300,
    );
    expect(filtered.occurrences).toEqual({ "public.patients": 3 + SELECTION_BITS });
    const tied = await decide(
      "SELECT p.ssn, p.dob FROM patients p WHERE p.id <= 300 AND EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = p.id)",
      300,
    );
    expect(tied.occurrences).toEqual({ "public.encounters": 2 });
    // The fifth outside attack: per-patient facts through conditions, with no PHI column in the result.
    const oracle =
      "SELECT g, CASE WHEN EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = g AND e.diagnosis_code = 'E11.9') THEN 'y' END, " +
      "(SELECT count(*) FROM medications m WHERE m.patient_id = g AND m.drug = 'metformin') FROM generate_series(1, 400) g";
    // The count runs over rows a generator makes (the tenth outside attack's weighted sums): not countable at all.
    const counted = await decide(oracle, 400);
    expect(counted.phiTables).toEqual(["public.encounters", "public.medications"]);
    expect(counted.outcome, counted.reasons.join("; ")).toBe("require_approval");
    expect(counted.reasons.join(" ")).toContain("the aggregate count over rows that may repeat");
    const picked = oracle.replace("count(*)", "max(m.drug)");
    const facts = await decide(picked, 400);
    // Three cells that are not a column as it is (each may be a condition's or a subquery's fact about either
    // table), and the condition subquery's cells: encounters 3 + 3, medications (its scan, and 3) 4; the EXISTS is
    // tied to no table's key (`g` is a generator's), and neither is the scalar subquery: each may choose among the
    // one scan's rows, 32 more each.
    expect(facts.occurrences).toEqual({
      "public.encounters": 6 + SELECTION_BITS,
      "public.medications": 4 + SELECTION_BITS,
    });
    expect(facts.outcome, facts.reasons.join("; ")).toBe("require_approval");
    // The conditions choose what each generated row says: not countable whatever the rows (the thirteenth attack).
    expect(facts.reasons.join(" ")).toContain(
      "a condition over a PHI table choosing among rows made by a function",
    );
    // Over a PHI table's rows, the same cells count: ten rows after a full window wait.
    const perPatient =
      "SELECT p.id, CASE WHEN EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = p.id AND e.diagnosis_code = 'E11.9') THEN 'y' END FROM patients p WHERE p.id <= 10";
    const after = await decide(perPatient, 10, 1000);
    expect(after.outcome, after.reasons.join("; ")).toBe("require_approval");
    expect(after.reasons.join(" ")).toContain("already returned to this caller");
  });

  it("counts each condition subquery packed into one cell (the sixth outside attack)", async () => {
    const terms = Array.from(
      { length: 60 },
      (_, k) =>
        `(CASE WHEN EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = g * 60 + ${k} AND e.diagnosis_code = 'E11.9') THEN ${2 ** (k % 30)} ELSE 0 END)`,
    );
    const sql = `SELECT g, ${terms.join(" + ")} AS m FROM generate_series(0, 9) g`;
    const decision = await decide(sql, 10);
    expect(decision.occurrences?.["public.encounters"]).toBeGreaterThanOrEqual(60);
  });

  it("counts a cell combining a table's occurrences once per occurrence (the fifth outside attack)", async () => {
    const joined = Array.from({ length: 5 }, (_, i) => `e${i}.diagnosis_code`).join(" || ','  || ");
    const joins = Array.from(
      { length: 4 },
      (_, k) => `JOIN encounters e${k + 1} ON e${k + 1}.id = e0.id + ${(k + 1) * 6000}`,
    );
    const sql = `SELECT ${joined} FROM encounters e0 ${joins.join(" ")} WHERE e0.id <= 100`;
    const decision = await decide(sql, 100);
    // Five scans, and the concatenation's cell.
    expect(decision.occurrences).toEqual({ "public.encounters": 6 });
  });

  it("adds up the PHI tables a result row carries, masked columns or not (the fourth outside attack)", async () => {
    // encounters.department has no masking rule, but encounters is a PHI table: each row is one encounter's.
    const sql =
      "SELECT p.ssn, p.dob, e.department FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= 900 AND e.id <= 900";
    const many = await decide(sql, 600);
    expect(many.phiTables).toEqual(["public.encounters", "public.patients"]);
    expect(many.outcome, many.reasons.join("; ")).toBe("require_approval");
    expect(many.reasons.join(" ")).toContain("more than 1000 PHI rows (2 PHI rows per result row)");
    const few = await decide(sql, 300);
    expect(few.outcome, few.reasons.join("; ")).toBe("allow");
    expect(few.rowBudget).toMatchObject({ rows: 1000, action: "require_approval", weight: 2 });
    // A LIMIT under the rule's figure counts its PHI rows, not its result rows.
    const sliced = await decide("SELECT e.id, e.diagnosis_code FROM encounters e LIMIT 1000", 1000, 0);
    expect(sliced.phiTables).toEqual(["public.encounters"]);
    expect(sliced.rowBudget).toMatchObject({ rows: 1000, rule: "bulk-phi-read" });
    const after = await decide("SELECT e.id, e.diagnosis_code FROM encounters e LIMIT 1000", 1000, 1000);
    expect(after.outcome, after.reasons.join("; ")).toBe("require_approval");
    expect(after.reasons.join(" ")).toContain("whichever PHI tables they come from");
  });

  it.each([
    [
      "string_agg in a scalar subquery",
      "SELECT (SELECT string_agg(diagnosis_code, ',') FROM encounters WHERE id <= 5000)",
    ],
    [
      "array_agg grouped",
      "SELECT patient_id, array_agg(drug) FROM medications WHERE patient_id <= 10 GROUP BY 1",
    ],
    ["json_agg", "SELECT json_agg(diagnosis_code) FROM encounters WHERE id <= 5000"],
    // The sixth outside attack: sums of values made to add up without loss are sets of rows.
    [
      "sum of powers of two",
      "SELECT diagnosis_code, sum(DISTINCT power(2::numeric, patient_id)) FROM encounters WHERE id > 0 GROUP BY 1",
    ],
    ["avg of powers of ten", "SELECT avg(power(10::numeric, patient_id)) FROM encounters WHERE id <= 500"],
    [
      "a filtered sum over masked columns' nullness",
      "SELECT sum(power(2::numeric, id)) FILTER (WHERE phone IS NULL) FROM patients WHERE id > 0",
    ],
    ["a plain sum", "SELECT sum(patient_id) FROM encounters WHERE id <= 500"],
    // The seventh outside attack: PHI that only orders a window, filters a join or decides an EXISTS.
    [
      "string_agg over window ranks",
      "SELECT string_agg(dr::text || ':' || pr::text, ',' ORDER BY rn) FROM (SELECT dense_rank() OVER (ORDER BY e.diagnosis_code) dr, dense_rank() OVER (ORDER BY e.patient_id) pr, row_number() OVER (ORDER BY e.id) rn FROM encounters e WHERE e.id > 0) s",
    ],
    [
      "string_agg of a generator filtered by a join",
      "SELECT string_agg(DISTINCT g::text, ',') FROM generate_series(1, 10000) g JOIN encounters e ON e.patient_id = g WHERE e.diagnosis_code = 'J45.909'",
    ],
    [
      "string_agg of a generator filtered by EXISTS",
      "SELECT string_agg(g::text, ',') FROM generate_series(1, 10000) g WHERE EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = g AND e.diagnosis_code = 'I10')",
    ],
    [
      "a count over rows generated from a PHI value",
      "SELECT count(*) FROM encounters e, generate_series(1, power(2, e.patient_id - 1)::int) g WHERE e.diagnosis_code = 'E11.9' AND e.patient_id <= 16",
    ],
    ["row_number over an unordered window", "SELECT row_number() OVER (), id FROM patients WHERE id <= 10"],
    ["ARRAY(SELECT ...)", "SELECT ARRAY(SELECT diagnosis_code FROM encounters WHERE id <= 5000)"],
    [
      "lag",
      "SELECT diagnosis_code, lag(diagnosis_code, 2) OVER (ORDER BY id) FROM encounters WHERE id <= 500",
    ],
    [
      "a framed max (another row's value)",
      "SELECT max(diagnosis_code) OVER (ORDER BY id ROWS BETWEEN 3 PRECEDING AND 3 PRECEDING) FROM encounters WHERE id <= 500",
    ],
  ])("sends %s over a PHI table's column to approval: its PHI rows cannot be counted", async (_, sql) => {
    const decision = await decide(sql, 1);
    expect(decision.outcome, decision.reasons.join("; ")).toBe("require_approval");
    expect(decision.reasons.join(" ")).toMatch(/cannot be counted \(bulk-phi-read/);
  });

  it("counts a group's max and count beside its key as rows of their own", async () => {
    const grouped = await decide(
      "SELECT patient_id, max(diagnosis_code), count(*) FROM encounters WHERE patient_id <= 100 GROUP BY 1",
      100,
    );
    expect(grouped.outcome, grouped.reasons.join("; ")).toBe("allow");
    expect(grouped.occurrences).toEqual({ "public.encounters": 3 });
    const counted = await decide(
      "SELECT diagnosis_code, count(*) FROM encounters WHERE id <= 900 GROUP BY 1",
      60,
    );
    expect(counted.outcome, counted.reasons.join("; ")).toBe("allow");
    expect(counted.occurrences).toEqual({ "public.encounters": 2 });
  });

  it("counts every scan, whether its values reach a cell or only pick which row does", async () => {
    // Three scans, of which one reaches the result: the other two pick its rows, so they count too.
    const keys =
      "SELECT p.ssn, p.dob FROM (SELECT id FROM patients WHERE id <= 10 UNION ALL SELECT id FROM patients WHERE id > 9990) k JOIN patients p ON p.id = k.id";
    expect(classified(keys).scans).toContainEqual({ schema: "public", table: "patients", scans: 3 });
    expect((await decide(keys, 1)).occurrences).toEqual({ "public.patients": 3 });
    // The eighth outside attack: one copied id chosen by thirteen other patients' values.
    const bits = Array.from({ length: 13 }, (_, k) => `${2 ** k} * (p${k}.sex = 'F')::int`).join(" + ");
    const joins = Array.from(
      { length: 13 },
      (_, k) => `JOIN patients p${k} ON p${k}.id = 26 + g * 13 + ${k + 1}`,
    );
    const picked = `SELECT x.id FROM generate_series(0, 99) g ${joins.join(" ")} JOIN patients x ON x.id = 1 + ${bits} ORDER BY g LIMIT 100`;
    // Fourteen scans, and the ORDER BY key that is not an output (its order reaches the caller).
    expect((await decide(picked, 100)).occurrences).toEqual({ "public.patients": 15 });
  });

  it("sends a condition subquery inside WITH RECURSIVE to approval: it runs once per iteration (the ninth outside attack)", async () => {
    const bits = `WITH RECURSIVE r(i, acc) AS (SELECT 0, ''::text UNION ALL SELECT i + 1, acc || CASE WHEN EXISTS (SELECT 1 FROM patients p WHERE p.id = r.i + 1 AND p.sex = 'F') THEN '1' ELSE '0' END FROM r WHERE i < 10000) SELECT acc FROM r WHERE i = 10000`;
    expect(classified(bits).scans).toContainEqual({ schema: "public", table: "patients", scans: null });
    const decision = await decide(bits, 1);
    expect(decision.outcome, decision.reasons.join("; ")).toBe("require_approval");
    expect(decision.reasons.join(" ")).toMatch(/cannot be counted/);
  });

  it("sends a relation scanned inside WITH RECURSIVE to approval: its scans cannot be counted", async () => {
    const sql = `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3)
      SELECT p.ssn, p.dob, p.mrn FROM r JOIN LATERAL (SELECT * FROM patients q WHERE q.id = r.n) p ON true`;
    expect(classified(sql).scans).toContainEqual({ schema: "public", table: "patients", scans: 1 });
    const recursive = `WITH RECURSIVE r(n, id) AS (SELECT 1, 1 UNION ALL SELECT n + 1, q.id FROM r JOIN patients q ON q.id = r.id + 1 WHERE n < 3)
      SELECT p.ssn, p.dob FROM r JOIN patients p ON p.id = r.id`;
    expect(classified(recursive).scans).toContainEqual({ schema: "public", table: "patients", scans: null });
    const decision = await decide(recursive, 1);
    expect(decision.outcome, decision.reasons.join("; ")).toBe("require_approval");
    expect(decision.reasons.join(" ")).toMatch(/cannot be counted/);
  });

  it("sends a count over rows made to repeat to approval: it is a weighted sum (the tenth outside attack, F1)", async () => {
    const cells = Array.from(
      { length: 10 },
      (_, k) => `count(*) FILTER (WHERE (q.id - 1) / 12 % 10 = ${k}) AS c${k}`,
    ).join(", ");
    const generator = `SELECT (q.id - 1) / 120 AS grp, ${cells} FROM patients q JOIN (SELECT p, k FROM generate_series(0, 11) p, generate_series(1, 2048) k WHERE k <= (1 << p)) t ON t.p = (q.id - 1) % 12 WHERE q.sex = 'F' AND q.id BETWEEN 1 AND 10080 GROUP BY 1 ORDER BY 1 LIMIT 84`;
    const distinct = `SELECT count(DISTINCT e.patient_id * 4096 + t.k) FROM encounters e JOIN generate_series(1, 2048) t(k) ON t.k <= 1 << (e.patient_id % 12) WHERE e.diagnosis_code = 'E11.9' AND e.patient_id <= 120`;
    // A self-join repeats rows as well as a generator does; so do a CTE, a subquery and VALUES.
    const selfJoined = `SELECT count(*) FROM patients q JOIN patients r ON r.id <= 1 << (q.id % 12) WHERE q.sex = 'F' AND q.id <= 12`;
    const viaCte =
      "WITH t AS (SELECT q.id FROM patients q, generate_series(0, 11) p WHERE q.id <= 12 AND p < q.id % 12) SELECT count(*) FROM t";
    const viaValues = `SELECT mode() WITHIN GROUP (ORDER BY v.k) FROM (SELECT q.id FROM patients q WHERE q.sex = 'F' AND q.id <= 12) x, (VALUES (1), (2), (2)) v(k)`;
    for (const sql of [generator, distinct, selfJoined, viaCte, viaValues]) {
      const decision = await decide(sql, 1);
      expect(decision.outcome, sql).toBe("require_approval");
      expect(decision.reasons.join(" "), sql).toMatch(/over rows that may repeat/);
    }
    // Over one table scanned once, a count is one fact per cell, a group's key one more; grouped in a CTE too.
    const plain = await decide(
      "SELECT state, count(*) FILTER (WHERE sex = 'F') FROM patients WHERE id <= 100 GROUP BY state",
      5,
    );
    expect(plain.outcome, plain.reasons.join("; ")).toBe("allow");
    expect(
      classified(
        "WITH v AS (SELECT patient_id, count(*) AS n FROM encounters WHERE patient_id <= 50 GROUP BY 1) SELECT p.mrn, v.n FROM patients p JOIN v ON v.patient_id = p.id",
      ).repeatedAggregates,
    ).toBeUndefined();
    // An aggregate over outer columns only belongs to the outer level, whose rows a generator repeats.
    expect(
      classified(
        "SELECT (SELECT count(q.id) FROM patients r WHERE r.id = 1) FROM patients q, generate_series(1, 4096) k WHERE q.id <= 12",
      ).repeatedAggregates,
    ).toEqual(["count"]);
  });

  it("counts every cell that is not a column as it is: a value a subquery picked carries what it was picked by (F2)", async () => {
    const counts = Array.from(
      { length: 60 },
      (_, k) => `count(*) FILTER (WHERE id = ${k + 1} AND sex = 'F') AS n${k}`,
    ).join(", ");
    const cells = Array.from(
      { length: 60 },
      (_, k) => `q.id * 0 + (SELECT g FROM generate_series(0, 4095) g WHERE g = s.n${k}) AS c${k}`,
    ).join(", ");
    const sql = `WITH s AS (SELECT ${counts} FROM patients) SELECT ${cells} FROM patients q, s WHERE q.id = 1 LIMIT 1`;
    const decision = await decide(sql, 1);
    // Sixty cells that are not a column as they are, each a fact about patients, on top of its two scans.
    expect(decision.occurrences?.["public.patients"]).toBeGreaterThanOrEqual(60);
  });

  it("sends SQL/JSON aggregates to approval wherever they are, a WHERE subquery included (F3)", async () => {
    for (const agg of [
      "JSON_ARRAYAGG(CASE WHEN q.sex = 'F' THEN 1 ELSE 0 END ORDER BY q.id DESC)",
      "JSON_OBJECTAGG(q.id : q.sex)",
    ]) {
      const sql = `SELECT e.id FROM encounters e WHERE e.id = 1 + length((SELECT ${agg} FROM patients q WHERE q.id BETWEEN 101 AND 115)::text)`;
      const decision = await decide(sql, 1);
      expect(decision.outcome, sql).toBe("require_approval");
      expect(decision.reasons.join(" "), sql).toMatch(/the aggregate json_(array|object)agg/);
    }
  });

  it("sends an aggregate over a computed value to approval wherever it is: ORDER BY, HAVING, a WHERE subquery (the eleventh outside attack)", async () => {
    const key = CODES.map((c, k) => `${2 ** k} * bool_or(e.diagnosis_code = '${c}')::int`).join(" + ");
    const ordered = `SELECT e.patient_id FROM encounters e WHERE e.patient_id <= 872 OR e.patient_id BETWEEN 9001 AND 9128 GROUP BY e.patient_id ORDER BY CASE WHEN e.patient_id > 9000 THEN e.patient_id - 9001 ELSE ${key} END, e.patient_id > 9000 DESC, e.patient_id LIMIT 1000`;
    const having = `SELECT e.patient_id FROM encounters e GROUP BY e.patient_id HAVING bool_or(e.diagnosis_code IN ('O24.419', 'E11.9')) OR e.patient_id > 9872 LIMIT 1000`;
    const bits = Array.from(
      { length: 13 },
      (_, k) => `${2 ** k} * bool_or(r.sex = 'F' AND r.id = 13 * g + ${k + 1})::int`,
    ).join(" + ");
    const picked = `SELECT x.id FROM generate_series(0, 350) g, LATERAL (SELECT q.id FROM patients q WHERE q.id = 1 + (SELECT ${bits} FROM patients r WHERE r.id BETWEEN 13 * g + 1 AND 13 * g + 13)) x ORDER BY g LIMIT 351`;
    for (const sql of [ordered, having, picked]) {
      const decision = await decide(sql, 1);
      expect(decision.outcome, sql).toBe("require_approval");
      expect(decision.reasons.join(" "), sql).toMatch(/the aggregate bool_or over a computed value/);
    }
    // Over a column as it is, a group's max that only orders the rows still reaches the caller: a fact per row.
    const byMax = await decide(
      "SELECT patient_id FROM encounters WHERE patient_id <= 100 GROUP BY 1 ORDER BY max(diagnosis_code)",
      100,
    );
    expect(byMax.outcome, byMax.reasons.join("; ")).toBe("allow");
    expect(byMax.occurrences).toEqual({ "public.encounters": 2 });
    // Ordering by an output or by a column as it is adds nothing.
    expect(
      classified("SELECT patient_id, diagnosis_code FROM encounters ORDER BY 2, id LIMIT 5").orderingKeys,
    ).toBeUndefined();
  });

  it("counts every aggregate a cell combines: counts and maxima packed by CASE and || (the twelfth outside attack)", async () => {
    const term = (j: number, agg: string) =>
      `CASE WHEN ${agg} FILTER (WHERE p.id % 200 = ${j} AND p.sex = 'F') ${agg.startsWith("count") ? "> 0" : "IS NOT NULL"} THEN 'F' ELSE '-' END`;
    const counts = Array.from({ length: 200 }, (_, j) => term(j, "count(*)")).join(" || ");
    const grouped = `SELECT (p.id / 200)::text || ':' || ${counts} AS v FROM patients p GROUP BY p.id / 200 LIMIT 60`;
    const maxima = Array.from({ length: 200 }, (_, j) => term(j, "max(p.id)")).join(" || ");
    const byMax = `SELECT (p.id / 200)::text || ':' || ${maxima} AS v FROM patients p GROUP BY p.id / 200 LIMIT 60`;
    const single = `SELECT concat(${Array.from({ length: 90 }, (_, i) => `CASE WHEN count(*) FILTER (WHERE p.id = ${i + 1} AND p.sex = 'F') > 0 THEN 'F' ELSE 'n' END`).join(", ")}) AS v FROM patients p WHERE p.id <= 90 LIMIT 1`;
    for (const [sql, rows, calls] of [
      [grouped, 51, 200],
      [byMax, 51, 200],
      [single, 1, 90],
    ] as const) {
      expect(classified(sql).packedAggregates, sql.slice(0, 60)).toBe(calls - 1);
      const decision = await decide(sql, rows);
      // The cell, its calls beyond the first, and the scan.
      expect(decision.occurrences?.["public.patients"]).toBeGreaterThanOrEqual(calls);
      if (rows > 1) expect(decision.outcome, decision.reasons.join("; ")).toBe("require_approval");
    }
    // Aggregates deciding a HAVING or a subquery count in full; one per cell or sort key adds nothing.
    expect(
      classified(
        "SELECT state FROM patients GROUP BY state HAVING count(*) FILTER (WHERE sex = 'F') > 0 AND max(id) > 5",
      ).packedAggregates,
    ).toBe(2);
    expect(
      classified("SELECT state, count(*), max(id) FROM patients GROUP BY state ORDER BY min(id)")
        .packedAggregates,
    ).toBeUndefined();
  });

  it("sends a condition over a PHI table that chooses among generated rows or compares computed values to approval (the thirteenth outside attack)", async () => {
    const block = (lo: number) =>
      `SELECT g FROM generate_series(0, 1048575) g WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id BETWEEN ${lo} AND ${lo + 19} AND (p.sex = 'F')::int <> (g >> (p.id - ${lo})) & 1) LIMIT 1`;
    const packed = `SELECT a0.g::text || '.' || a1.g::text FROM (${block(1)}) a0, (${block(21)}) a1 LIMIT 1`;
    const diagnoses = `SELECT g FROM generate_series(0, 65535) g WHERE NOT EXISTS (SELECT 1 FROM generate_series(1, 16) i WHERE (EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = i AND e.diagnosis_code = 'I10'))::int <> (g >> (i - 1)) & 1) LIMIT 1`;
    // The candidates may be a PHI table's keys too: then the comparison of computed values gives it away.
    const byIds = `SELECT e.id FROM encounters e WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id BETWEEN 1 AND 15 AND (p.sex = 'F')::int <> (e.id >> (p.id - 1)) & 1) LIMIT 1`;
    const byValues = `SELECT v.b FROM (VALUES (0), (1)) v(b) WHERE EXISTS (SELECT 1 FROM patients p WHERE p.id = 3 AND p.sex = 'F' AND v.b = 1)`;
    // The fourteenth attack made the candidates with a UNION ALL of SELECTs without FROM, carrying their bits.
    const rows = Array.from({ length: 8 }, (_, n) => `SELECT ${n} AS n, '${n & 1 ? "F" : "N"}' AS b0`).join(
      " UNION ALL ",
    );
    const byUnion = `SELECT c.n FROM (${rows}) c WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = 1 AND ((c.b0 = 'F' AND p.sex <> 'F') OR (c.b0 = 'N' AND p.sex = 'F'))) LIMIT 1`;
    expect(classified(byUnion).generatedRows).toEqual(["set_operation"]);
    for (const sql of [block(1), packed, diagnoses, byIds, byValues, byUnion]) {
      const decision = await decide(sql, 1);
      expect(decision.outcome, sql).toBe("require_approval");
      expect(decision.reasons.join(" "), sql).toMatch(
        /a condition over a PHI table (choosing among rows made by|comparing computed values)/,
      );
    }
    // Keyed conditions over a relation's rows still count as before.
    const keyed = await decide(
      "SELECT p.mrn FROM patients p WHERE p.id <= 50 AND EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = p.id AND e.department = 'cardiology')",
      50,
    );
    expect(keyed.outcome, keyed.reasons.join("; ")).toBe("allow");
  });

  it("weighs a row chosen among many by a condition over other PHI rows by the bits the choice can carry (the fourteenth outside attack)", async () => {
    // Candidates are patients' own ids; constant IN lists inside CASE give each a different hypothesis about twelve
    // patients' sex; the one id no patient contradicts is their twelve bits.
    const evens = Array.from({ length: 20 }, (_, i) => 2 * i + 2).join(", ");
    const hypothesis = (j: number) =>
      `(p.id = ${j} AND CASE WHEN c.id IN (${evens}) THEN p.sex <> 'F' ELSE p.sex = 'F' END)`;
    const conditions = Array.from({ length: 12 }, (_, j) => hypothesis(j + 1)).join(" OR ");
    const notExists = `SELECT c.id FROM patients c WHERE c.id BETWEEN 1 AND 4096 AND NOT EXISTS (SELECT 1 FROM patients p WHERE ${conditions}) LIMIT 1`;
    const leftJoin = `SELECT c.id FROM patients c LEFT JOIN patients p ON ${conditions} WHERE p.id IS NULL AND c.id BETWEEN 1 AND 4096 LIMIT 1`;
    const except = `SELECT c.id FROM patients c WHERE c.id BETWEEN 1 AND 4096 EXCEPT SELECT c.id FROM patients c JOIN patients p ON ${conditions}`;
    const having = `SELECT c.id FROM patients c JOIN patients p ON p.id BETWEEN 1 AND 12 WHERE c.id BETWEEN 1 AND 4096 GROUP BY c.id HAVING min(p.sex) = 'F' AND max(p.sex) = 'F' LIMIT 1`;
    const lateral = `SELECT c.id FROM patients c CROSS JOIN LATERAL (SELECT 1 FROM patients p WHERE ${conditions} LIMIT 1) x WHERE c.id BETWEEN 1 AND 4096 LIMIT 1`;
    const notIn = `SELECT c.id FROM patients c WHERE c.id BETWEEN 1 AND 4096 AND c.id NOT IN (SELECT c2.id FROM patients c2, patients p WHERE c2.id BETWEEN 1 AND 4096 AND (${conditions.replaceAll("c.id", "c2.id")})) LIMIT 1`;
    for (const [name, sql] of Object.entries({ notExists, leftJoin, except, having, lateral, notIn })) {
      const c = classified(sql);
      expect(c.choosers, name).toContainEqual({ schema: "public", table: "patients" });
      const decision = await decide(sql, 1);
      // Twelve bits in one returned row: it now counts more PHI rows than it can carry bits.
      const weight = decision.rowBudget?.weight ?? 0;
      expect(weight, `${name}: ${decision.outcome} ${decision.reasons.join("; ")}`).toBeGreaterThan(12);
      expect(weight, name).toBeGreaterThanOrEqual(SELECTION_BITS);
    }
  });

  it("weighs the choosers the fifteenth outside attack hid: a value subquery filtered outside, `> ANY`, a derived outer side, DISTINCT ON over a derived join", async () => {
    const probe = (candidate: string) =>
      `(SELECT p.id FROM patients p WHERE p.id BETWEEN 1 AND 18 AND (p.sex = 'F') <> ((${candidate} >> (p.id - 1)) & 1 = 1) LIMIT 1)`;
    const generated = {
      derived: `SELECT t.g FROM (SELECT g, ${probe("g")} AS n FROM generate_series(0, 262143) g) t WHERE t.n IS NULL LIMIT 1`,
      cte: `WITH s AS (SELECT g, ${probe("g")} AS n FROM generate_series(0, 65535) g) SELECT g FROM s WHERE n IS NULL`,
      ordered: `SELECT s.g FROM (SELECT g, ${probe("g")} AS n FROM generate_series(0, 65535) g) s ORDER BY s.n NULLS FIRST LIMIT 1`,
      distinct: `SELECT DISTINCT CASE WHEN ${probe("g")} IS NULL THEN g END FROM generate_series(0, 65535) g`,
    };
    for (const [name, sql] of Object.entries(generated)) {
      const decision = await decide(sql, 1);
      expect(decision.outcome, name).toBe("require_approval");
      expect(decision.reasons.join(" "), name).toContain(
        "a condition over a PHI table choosing among rows made by",
      );
    }
    // The same over a PHI table's own rows as candidates, and the other three shapes: the choice is weighed.
    const hypotheses = Array.from(
      { length: 11 },
      (_, j) =>
        `(p.id = ${j + 1} AND CASE WHEN c.id IN (${Array.from({ length: 8 }, (_, i) => 5001 + (i << j)).join(", ")}) THEN p.sex <> 'F' ELSE p.sex = 'F' END)`,
    ).join(" OR ");
    const weighed = {
      overPatients: `SELECT t.id FROM (SELECT c.id, ${probe("(c.id - 1)")} AS n FROM patients c WHERE c.id <= 4096) t WHERE t.n IS NULL LIMIT 1`,
      greaterThanAny: `SELECT c.id FROM patients c WHERE c.id BETWEEN 5001 AND 7048 AND NOT (c.id > ANY (SELECT p.id FROM patients p WHERE p.id BETWEEN 1 AND 11 AND (${hypotheses}))) LIMIT 1`,
      derivedOuterSide: `SELECT c.id FROM encounters c LEFT JOIN (SELECT p.id AS k FROM patients p JOIN patients q ON q.id BETWEEN 1 AND 15 AND q.sex = 'F') x ON x.k = c.id WHERE c.id <= 32768 AND x.k IS NULL LIMIT 1`,
      distinctOn: `SELECT z.k FROM (SELECT DISTINCT ON (d.k) d.k, d.m FROM (SELECT c.id AS k, p.sex AS m FROM patients c, patients p WHERE c.id <= 4096 AND p.id BETWEEN 1 AND 12) d ORDER BY d.k, d.m DESC) z WHERE z.m = 'F' LIMIT 1`,
      grandparentTie: `SELECT c.id, (SELECT q.id FROM patients q WHERE q.id <= 1024 AND NOT EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = c.id AND e.diagnosis_code = 'I10' AND q.id NOT IN (2, 4, 6)) ORDER BY q.id LIMIT 1) FROM patients c WHERE c.id <= 10`,
    };
    for (const [name, sql] of Object.entries(weighed)) {
      expect(classified(sql).choosers, name).not.toBeUndefined();
      const decision = await decide(sql, 1);
      const weight = decision.rowBudget?.weight ?? Number.POSITIVE_INFINITY;
      expect(weight, `${name}: ${decision.outcome} ${decision.reasons.join("; ")}`).toBeGreaterThanOrEqual(
        SELECTION_BITS,
      );
    }
  });

  it("weighs GROUPING SETS, CUBE and ROLLUP over one table: each row in several groups, HAVING picks a set (the sixteenth outside attack)", async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `(p.id = ${1001 + i} AND p.sex <> 'F')`);
    const cube = `SELECT GROUPING(${keys.join(", ")}) AS s FROM patients p WHERE p.id BETWEEN 1001 AND 1012 GROUP BY CUBE(${keys.join(", ")}) HAVING max(p.sex) = 'F' ORDER BY s DESC LIMIT 1`;
    const sets = `SELECT GROUPING(${keys[0]}, ${keys[1]}) AS s FROM patients p WHERE p.id BETWEEN 1001 AND 1002 GROUP BY GROUPING SETS ((${keys[0]}), (${keys[1]}), (${keys[0]}, ${keys[1]}), ()) HAVING max(p.sex) = 'F' ORDER BY s DESC LIMIT 1`;
    const rollup = `SELECT p.state, p.sex FROM patients p WHERE p.id <= 10 GROUP BY ROLLUP (p.state, p.sex) HAVING max(p.sex) = 'F'`;
    for (const [name, sql] of Object.entries({ cube, sets, rollup })) {
      expect(classified(sql).choosers, name).toEqual([{ schema: "public", table: "patients" }]);
      const decision = await decide(sql, 1);
      expect(decision.rowBudget?.weight ?? 0, name).toBeGreaterThanOrEqual(SELECTION_BITS);
    }
    // One plain set, as before.
    expect(
      classified("SELECT p.state, count(*) FROM patients p WHERE p.id <= 10 GROUP BY p.state").choosers,
    ).toBeUndefined();
  });

  it("weighs a position among rows that may repeat: OFFSET, and LIMIT under the statement's own (the seventeenth outside attack)", async () => {
    const repeat = (source: string) =>
      `SELECT p.id FROM patients p JOIN ${source} ON r <= CASE WHEN p.id >= 3000 THEN 1 WHEN p.sex = 'F' THEN 0 WHEN p.sex = 'M' THEN power(3, p.id - 1)::int ELSE 2 * power(3, p.id - 1)::int END WHERE p.id BETWEEN 1 AND 7 OR p.id BETWEEN 3000 AND 5187 ORDER BY p.id OFFSET 2187 LIMIT 1`;
    const overEncounters = repeat("(SELECT e.id AS r FROM encounters e) x");
    const limitInside = `SELECT max(d.id) FROM (${repeat("(SELECT e.id AS r FROM encounters e) x").replace(" OFFSET 2187 LIMIT 1", " LIMIT 2188")}) d`;
    for (const [name, sql] of Object.entries({ overEncounters, limitInside })) {
      expect(classified(sql).choosers, name).toContainEqual({ schema: "public", table: "patients" });
      const decision = await decide(sql, 1);
      expect(decision.rowBudget?.weight ?? Number.POSITIVE_INFINITY, name).toBeGreaterThanOrEqual(
        SELECTION_BITS,
      );
    }
    // Over generated rows: no scan bounds the candidates.
    const generated = await decide(repeat("generate_series(1, 1458) r"), 1);
    expect(generated.outcome).toBe("require_approval");
    // The statement's own LIMIT over a join, and OFFSET over one table's rows, choose nothing: every row returned
    // is counted, and a position among rows each once is a count of one table's rows.
    expect(
      classified(
        "SELECT p.id, e.id FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id = 5 ORDER BY e.id LIMIT 3",
      ).choosers,
    ).toBeUndefined();
    expect(
      classified("SELECT p.id FROM patients p WHERE p.sex = 'F' ORDER BY p.id OFFSET 10 LIMIT 1").choosers,
    ).toBeUndefined();
    // Pages of a join tied by a unique key: each row is a patient and one of its own encounters.
    expect(
      classified(
        "SELECT p.id, e.admitted_at FROM patients p JOIN encounters e ON e.patient_id = p.id ORDER BY e.id LIMIT 150 OFFSET 300",
      ).choosers,
    ).toBeUndefined();
  });

  it("does not take `x IN (SELECT col ... ORDER BY ... LIMIT 1)` for a tie, and counts simple CASE, GREATEST and COALESCE operands (the eighteenth outside attack)", async () => {
    const tests = Array.from({ length: 13 }, (_, k) => 101 + k);
    const arm = (f: boolean) =>
      tests
        .map((t, k) => `WHEN ${t} THEN CASE c.id & ${1 << k} WHEN 0 THEN ${f ? 2 : 0} ELSE ${f ? 0 : 2} END`)
        .join(" ");
    const picked = `SELECT c.id FROM patients c WHERE c.id BETWEEN 1 AND 8192 AND c.id IN (SELECT p.id FROM patients p WHERE p.id IN (${tests.join(", ")}) OR p.id = c.id ORDER BY CASE WHEN p.id = c.id THEN 1 WHEN p.sex = 'F' THEN CASE p.id ${arm(true)} END ELSE CASE p.id ${arm(false)} END END DESC LIMIT 1)`;
    expect(classified(picked).choosers).toContainEqual({ schema: "public", table: "patients" });
    expect(classified(picked).computedConditions ?? 0).toBeGreaterThan(0);
    const decision = await decide(picked, 1);
    expect(decision.outcome, decision.reasons.join("; ")).toBe("require_approval");
    // Each shape alone: the simple CASE's operand, GREATEST and COALESCE of computed values inside a condition.
    for (const condition of [
      "CASE c.id & 1 WHEN 0 THEN p.sex = 'F' ELSE p.sex <> 'F' END",
      "greatest(c.id & 1, 0) = 1 AND p.sex = 'F'",
      "coalesce(c.id & 1, 0) = 1 AND p.sex = 'F'",
    ]) {
      const sql = `SELECT c.id FROM patients c WHERE c.id <= 10 AND EXISTS (SELECT 1 FROM patients p WHERE p.id = c.id AND ${condition})`;
      expect(classified(sql).computedConditions ?? 0, condition).toBeGreaterThan(0);
    }
    // Candidates made by a set-returning function in a select list are generated rows.
    const srf = `SELECT s.g FROM (SELECT generate_series(0, 8191) AS g) s WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = 7 AND p.sex = 'F' AND s.g = 1) LIMIT 1`;
    expect(classified(srf).generatedRows).toContain("set_returning_function");
    const generated = await decide(srf, 1);
    expect(generated.outcome).toBe("require_approval");
    expect(generated.reasons.join(" ")).toContain("rows made by a set-returning function");
  });

  it("weighs an aggregate that picks its own rows by the bits a count of them can say (the twentieth outside attack)", async () => {
    // 255 counts of overlapping subsets of 897 patients, each a FILTER over a bit mask of ids, decoded every one's
    // sex from one row weighed 256. Each such cell now weighs SELECTION_BITS more.
    const mask = (r: number) => `'\\x${((r * 37) % 256).toString(16).padStart(2, "0").repeat(113)}'::bytea`;
    const cells = (n: number, form: (r: number) => string) =>
      Array.from({ length: n }, (_, r) => `${form(r)} AS c${r}`).join(", ");
    const filtered = `SELECT ${cells(255, (r) => `count(*) FILTER (WHERE p.sex = 'F' AND get_bit(${mask(r)}, p.id - 1001) = 1)`)} FROM patients p WHERE p.id BETWEEN 1001 AND 1897`;
    expect(classified(filtered).subsetAggregates).toBe(255);
    const decision = await decide(filtered, 1);
    expect(decision.outcome, decision.reasons.join("; ")).toBe("require_approval");
    // The same through count of a CASE, count(DISTINCT CASE ...) and max(...) FILTER.
    for (const form of [
      (r: number) => `count(CASE WHEN p.sex = 'F' AND get_bit(${mask(r)}, p.id - 1001) = 1 THEN 1 END)`,
      (r: number) =>
        `count(DISTINCT CASE WHEN p.sex = 'F' AND get_bit(${mask(r)}, p.id - 1001) = 1 THEN p.id END)`,
      (r: number) => `max(p.id) FILTER (WHERE p.sex = 'F' AND get_bit(${mask(r)}, p.id - 1001) = 1)`,
    ]) {
      const sql = `SELECT ${cells(3, form)} FROM patients p WHERE p.id BETWEEN 1001 AND 1897`;
      expect(classified(sql).subsetAggregates, sql.slice(0, 80)).toBe(3);
      expect((await decide(sql, 1)).rowBudget?.weight ?? 0).toBeGreaterThanOrEqual(3 * SELECTION_BITS);
    }
    // A count of the rows the statement's own predicate chose, and a count of a column as it is, weigh as before.
    for (const sql of [
      "SELECT count(*) FROM patients p WHERE p.sex = 'F' AND p.id BETWEEN 1001 AND 1897",
      "SELECT count(e.diagnosis_code), count(*) FROM encounters e WHERE e.patient_id = 7",
    ]) {
      expect(classified(sql).subsetAggregates, sql).toBeUndefined();
      const plain = await decide(sql, 1);
      expect(plain.outcome, plain.reasons.join("; ")).toBe("allow");
      expect(plain.rowBudget?.weight ?? 1, sql).toBeLessThan(SELECTION_BITS);
    }
  });

  it("weighs an INTERSECT of one-hypothesis branches by every branch's scans: at least a PHI row per fact it keeps", async () => {
    // Each branch keeps the candidates agreeing with one patient's sex; the intersection of twelve is the one id
    // spelling all twelve. Not a chooser (a row is kept by what a row of each branch has, as an inner join keeps
    // it), but every branch's scans count, so the row weighs more than the twelve facts it carries.
    const branch = (k: number) =>
      `SELECT c.id FROM patients c JOIN patients p ON p.id = ${k} AND p.sex = CASE WHEN (c.id >> ${k - 1}) & 1 = 1 THEN 'F' ELSE 'M' END WHERE c.id BETWEEN 1 AND 4095`;
    const sql = Array.from({ length: 12 }, (_, i) => branch(i + 1)).join(" INTERSECT ");
    const decision = await decide(sql, 1);
    expect(decision.rowBudget?.weight ?? 0, decision.reasons.join("; ")).toBeGreaterThanOrEqual(24);
    // Over generated candidates each branch scans patients once: twelve facts weigh twelve rows.
    const generated = (k: number) =>
      `SELECT x FROM patients p, generate_series(0, 4095) x WHERE p.id = ${k} AND ((x >> ${k - 1}) & 1 = 1) = (p.sex = 'F')`;
    const overGenerated = `${Array.from({ length: 12 }, (_, i) => generated(i + 1)).join(" INTERSECT ")} LIMIT 1`;
    const second = await decide(overGenerated, 1);
    expect(second.rowBudget?.weight ?? 0, second.reasons.join("; ")).toBeGreaterThanOrEqual(12);
  });

  it("takes every built-in the catalog marks proretset for a set-returning function, the hand-kept list besides", async () => {
    // pg_timezone_names() is on no hand-kept list: the catalog says it returns a set.
    const unlisted = `SELECT s.n FROM (SELECT (pg_timezone_names()).name AS n) s WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = 7 AND p.sex = 'F' AND s.n = 'UTC') LIMIT 1`;
    expect(classified(unlisted).generatedRows).toContain("set_returning_function");
    const decision = await decide(unlisted, 1);
    expect(decision.outcome, decision.reasons.join("; ")).toBe("require_approval");
    expect(decision.reasons.join(" ")).toContain("rows made by a set-returning function");
    // A catalog read before analyzer 8 (no proretset recorded) still knows the listed ones, and only those.
    const old: Catalog = {
      ...catalog,
      version: `${catalog.version}-old`,
      builtins: catalog.builtins?.map(({ returnsSet: _, ...routine }) => routine),
    };
    const srf = `SELECT s.g FROM (SELECT generate_series(0, 10) AS g) s WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id = 7 AND p.sex = 'F' AND s.g = 1)`;
    expect(classify(parseStatement(srf), old).generatedRows).toContain("set_returning_function");
    expect(classify(parseStatement(unlisted), old).generatedRows).toBeUndefined();
    // A scalar built-in makes no rows.
    const scalar = `SELECT lower(p.last_name) FROM patients p WHERE p.id = 7`;
    expect(classified(scalar).generatedRows).toBeUndefined();
  });

  it("takes a derived table's rows for one table's only when its select list calls nothing but aggregates (the nineteenth outside attack)", async () => {
    const repeatedInside = `SELECT x.k FROM (SELECT p2.id AS k, p2.sex AS s, generate_series(1, 1025) AS r FROM patients p2 WHERE p2.id BETWEEN 1 AND 1034) x WHERE x.r <= CASE WHEN x.k > 10 THEN 1 WHEN x.s = 'F' THEN power(2, x.k - 1)::int + 1 ELSE 1 END ORDER BY x.k OFFSET 1033 LIMIT 1`;
    const joinedSide = `SELECT p.id FROM patients p LEFT JOIN (SELECT p2.id AS k, generate_series(1, 4097) AS r FROM patients p2 WHERE p2.id BETWEEN 1 AND 12) x ON p.id = x.k AND x.r <= CASE WHEN p.sex = 'F' THEN power(2, p.id - 1)::int + 1 ELSE 1 END WHERE p.id <= 8300 ORDER BY p.id OFFSET 8204 LIMIT 1`;
    for (const [name, sql] of Object.entries({ repeatedInside, joinedSide })) {
      expect(classified(sql).choosers, name).toContainEqual({ schema: "public", table: "patients" });
      const decision = await decide(sql, 1);
      expect(decision.outcome, `${name}: ${decision.reasons.join("; ")}`).toBe("require_approval");
    }
    // A derived side that only groups its one table stays tied.
    expect(
      classified(
        "SELECT p.id, m.n FROM patients p LEFT JOIN (SELECT patient_id, count(DISTINCT drug) AS n FROM medications GROUP BY patient_id) m ON m.patient_id = p.id WHERE p.id <= 5",
      ).choosers,
    ).toBeUndefined();
  });

  it("ties a condition to its row by a unique key of a table read once, and only then", async () => {
    const choosers = (sql: string) => classified(sql).choosers ?? [];
    const tiedForms = [
      "SELECT p.id FROM patients p WHERE p.id <= 50 AND EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = p.id AND e.diagnosis_code = 'E11.9')",
      "SELECT p.id FROM patients p WHERE p.id <= 50 AND NOT EXISTS (SELECT 1 FROM encounters e WHERE p.id = e.patient_id)",
      "SELECT p.id FROM patients p WHERE p.id <= 50 AND p.id IN (SELECT patient_id FROM encounters WHERE diagnosis_code = 'I10')",
      "SELECT p.id FROM patients p WHERE p.id <= 50 AND id NOT IN (SELECT e.patient_id FROM encounters e)",
      "SELECT p.id, e.diagnosis_code FROM patients p LEFT JOIN encounters e ON e.patient_id = p.id WHERE p.id = 5",
      "SELECT p.id, e.id FROM encounters e RIGHT JOIN patients p ON p.id = e.patient_id WHERE p.id = 5",
      "WITH m AS (SELECT patient_id, count(*) AS n FROM medications GROUP BY 1) SELECT p.id, m.n FROM patients p LEFT JOIN m ON m.patient_id = p.id WHERE p.id <= 5",
      "SELECT DISTINCT p.state FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= 5",
      "WITH r AS (SELECT patient_id FROM encounters), m AS (SELECT patient_id FROM medications) SELECT p.id FROM patients p JOIN r ON r.patient_id = p.id LEFT JOIN m ON m.patient_id = p.id WHERE p.id <= 5",
      "SELECT state FROM patients WHERE id <= 5 UNION SELECT department FROM encounters WHERE id <= 5",
    ];
    for (const sql of tiedForms) expect(choosers(sql), sql).toEqual([]);
    const untied = [
      // A key that is not unique: every patient of the zip is a candidate's.
      "SELECT c.id FROM patients c WHERE c.id <= 50 AND NOT EXISTS (SELECT 1 FROM patients p WHERE p.zip = c.zip AND p.sex = 'F')",
      // A unique column of the inner table only: many candidates share the one row it reads.
      "SELECT e.id FROM encounters e WHERE e.id <= 50 AND EXISTS (SELECT 1 FROM patients p WHERE p.id = e.patient_id AND p.sex = 'F')",
      // A computed key, an OR, another level's join, a second table inside.
      "SELECT c.id FROM patients c WHERE c.id <= 50 AND EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = c.id + 1)",
      "SELECT c.id FROM patients c WHERE c.id <= 50 AND EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = c.id OR e.id < 12)",
      "SELECT c.id FROM patients c JOIN medications m ON m.patient_id = c.id WHERE EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = c.id)",
      "SELECT c.id FROM patients c WHERE EXISTS (SELECT 1 FROM encounters e, patients p WHERE e.patient_id = c.id AND p.id < 12)",
      // The candidate's own column named in the subquery's select list is not a tie.
      "SELECT c.id FROM patients c WHERE c.id IN (SELECT c.id FROM patients p WHERE p.id < 12 AND p.sex = 'F')",
      // An outer join on something other than a unique key, and a FULL join.
      "SELECT c.id FROM patients c LEFT JOIN patients p ON p.zip = c.zip AND p.sex = 'F' WHERE p.id IS NULL",
      "SELECT c.id FROM patients c FULL JOIN encounters e ON e.patient_id = c.id WHERE c.id <= 5",
      // The unique key on the null-extended side: many candidates share the one row it reads.
      "SELECT e.id FROM encounters e LEFT JOIN patients p ON p.id = e.patient_id AND p.sex = 'F' WHERE p.id IS NULL",
      // Candidates repeated by a join that is not tied: ON may test one hypothesis per repeat.
      "SELECT p.id, x.id FROM patients p CROSS JOIN encounters x LEFT JOIN medications m ON m.patient_id = p.id AND x.id = m.id WHERE m.id IS NULL AND p.id = 5",
      "SELECT p.id FROM patients p JOIN encounters x ON x.id < 4096 LEFT JOIN medications m ON m.patient_id = p.id WHERE m.id IS NULL",
      // A CTE named like the table it hides is no base table.
      "WITH encounters AS (SELECT id AS patient_id FROM patients WHERE sex = 'F') SELECT c.id FROM patients c WHERE EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = c.id)",
    ];
    for (const sql of untied) expect(choosers(sql), sql).not.toEqual([]);
  });

  it("counts a record made before the scans were (analyzer 3) once, as then", async () => {
    const { scans: _, ...old } = classified(selfJoin(10, (i) => `p${i}.ssn`));
    const { decision } = await decideStatement({
      policy: demo,
      context: { devIssuer: undefined },
      principal: NIGHTLY,
      classification: old,
      purpose: null,
      estimateRows: async () => 1,
      windowRows: async () => 0,
    });
    expect(decision.occurrences).toBeUndefined();
  });
});
