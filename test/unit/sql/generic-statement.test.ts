// The estimate's input: every value of a statement made a parameter the planner does not know, proven on the real
// planner (PGlite) over the oracle corpus and generated statements, and by the planner's answers on skewed data.

import type { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GenericStatement, genericStatement } from "#shared/sql/generic-statement.ts";
import { loadSqlParser, parseStatement } from "#shared/sql/parser.ts";
import { pgScan } from "#shared/sql/pg-wasm.ts";
import {
  estimateSteps,
  explainSql,
  parameterTypeError,
  planEstimate,
  withRetyping,
} from "#shared/sql/plan-estimate.ts";
import { queryFailure } from "#shared/sql/sqlstate.ts";
import { demoGeneratorInputs } from "#test/support/random-sql/demo-inputs.ts";
import { generateStatements } from "#test/support/random-sql/generate.ts";
import { seededRandom } from "#test/support/seeded-random.ts";
import { createFixtureDb } from "./fixture-db.ts";
import { ORACLE_DATA_SQL, oracleCorpus } from "./oracle-corpus.ts";

let db: PGlite;

/** Skewed data: patient 1 has 400 encounters, the others one or two; last names mostly 'Lee'. */
const SKEWED_SQL = `
INSERT INTO patients
  SELECT g, 'MRN-' || lpad(g::text, 7, '0'), '000-00-' || lpad(g::text, 4, '0'), 'N' || g,
         CASE WHEN g % 10 < 7 THEN 'Lee' ELSE 'L' || g END, date '1950-01-01' + g,
         CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END, 'a', 'c', 'CA', '90001', NULL, NULL
  FROM generate_series(10, 2000) g;
INSERT INTO encounters
  SELECT 100 + g, CASE WHEN g <= 400 THEN 1 ELSE 10 + g % 1990 END, timestamptz '2024-01-01' + g * interval '1 hour',
         NULL, 'ER', 'J10', NULL
  FROM generate_series(1, 3000) g;
ANALYZE;`;

beforeAll(async () => {
  await loadSqlParser();
  db = await createFixtureDb();
  await db.exec(ORACLE_DATA_SQL);
  await db.exec(SKEWED_SQL);
}, 60_000);

afterAll(async () => {
  await db?.close();
});

/** The figure PostgreSQL's planner gives for `generic`, as the executors ask it (read-only, then rolled back). */
function genericEstimate(generic: GenericStatement): Promise<number> {
  return withRetyping(generic, async (typed) => {
    const steps = estimateSteps(typed);
    await db.exec("BEGIN READ ONLY");
    try {
      for (const [name, value] of steps.settings) await db.exec(`SET LOCAL ${name} = ${value}`);
      for (const sql of steps.before)
        await db.exec(sql).catch((error: unknown) => {
          // As the executors report it: a SQLSTATE, or the parameter PostgreSQL could not type.
          throw parameterTypeError(error) ?? queryFailure(String((error as { code?: unknown }).code));
        });
      const result = await db.query<(string | null)[]>(steps.explain, [], { rowMode: "array" });
      return planEstimate(cell(result.rows[0]?.[0]), "Plan Rows");
    } finally {
      await db.exec("ROLLBACK");
      await db.exec("DEALLOCATE ALL");
    }
  });
}

/** The estimate the planner makes when it sees the values (what the gateway no longer asks). */
async function visibleEstimate(sql: string, params: readonly unknown[] = []): Promise<number> {
  await db.exec("BEGIN READ ONLY");
  try {
    const result = await db.query<unknown[]>(explainSql(sql), [...params], { rowMode: "array" });
    return planEstimate(cell(result.rows[0]?.[0]), "Plan Rows");
  } finally {
    await db.exec("ROLLBACK");
  }
}

function cell(value: unknown): string | null {
  return typeof value === "string"
    ? value
    : value === null || value === undefined
      ? null
      : JSON.stringify(value);
}

function generic(sql: string, params = 0): GenericStatement {
  const made = genericStatement(sql, params);
  if (made === undefined) throw new Error(`no generic form: ${sql}`);
  return made;
}

describe("genericStatement", () => {
  it("makes each literal a parameter typed as PostgreSQL types the literal, after the caller's", () => {
    expect(
      generic(
        "SELECT id, 'x', -5, 1.5, 3000000000, 99999999999999999999, TRUE, NULL, B'101', X'ff', $$d$$, E'\\n' FROM patients WHERE id = $1",
        1,
      ),
    ).toEqual({
      sql: "SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM patients WHERE id = $1",
      types: [
        "unknown",
        "unknown",
        "int4",
        "numeric",
        "int8",
        "numeric",
        "boolean",
        "unknown",
        "bit",
        "bit",
        "unknown",
        "unknown",
      ],
    });
  });

  it("keeps what the planner reads as syntax: LIMIT/OFFSET counts, output-column numbers, type names, keywords", () => {
    expect(
      generic(
        "SELECT DISTINCT ON (1) last_name, EXTRACT(year FROM dob), CAST(zip AS varchar(5)) FROM patients WHERE id > 3 GROUP BY 1, GROUPING SETS ((2)) ORDER BY 1, 2 + 0 LIMIT 5 OFFSET 10",
      ),
    ).toEqual({
      sql: "SELECT DISTINCT ON (1) last_name, EXTRACT(year FROM dob), CAST(zip AS varchar(5)) FROM patients WHERE id > $1 GROUP BY 1, GROUPING SETS ((2)) ORDER BY 1, $2 + $3 LIMIT 5 OFFSET 10",
      types: ["int4", "int4", "int4"],
    });
    // In GROUPING SETS, `(1, 2)` is two output-column numbers (the twenty-eighth outside attack saw them made
    // parameters, and the estimate failed).
    expect(generic("SELECT last_name, zip FROM patients GROUP BY GROUPING SETS ((1, 2), 1, ())").sql).toBe(
      "SELECT last_name, zip FROM patients GROUP BY GROUPING SETS ((1, 2), 1, ())",
    );
    // A count written as an expression is one; a window's ORDER BY 1 sorts by a constant (no column number).
    expect(generic("SELECT rank() OVER (ORDER BY 1) FROM patients LIMIT 2 + 3").sql).toBe(
      "SELECT rank() OVER (ORDER BY $1) FROM patients LIMIT $2 + $3",
    );
  });

  it("writes a typed literal as a cast, with an interval's qualifier", () => {
    expect(
      generic(
        "SELECT * FROM encounters WHERE admitted_at > timestamptz '2024-01-01' - interval '1' day to hour AND discharged_at < now() - interval(2) '3 days'",
      ),
    ).toEqual({
      sql: "SELECT * FROM encounters WHERE admitted_at > CAST($1 AS timestamptz) - CAST($2 AS interval day to hour) AND discharged_at < (SELECT now()) - CAST($3 AS interval(2))",
      types: ["unknown", "unknown", "unknown"],
    });
  });

  it("has no generic form when a literal token is not one constant of the tree", () => {
    // A string continued on the next line is one token and one constant.
    expect(genericStatement("SELECT 'a'\n'b'", 0)?.sql).toBe("SELECT $1");
    // A Unicode escape clause: its escape character is a second string token of the one constant.
    expect(genericStatement("SELECT U&'d\\0061t' UESCAPE '!'", 0)).toBeUndefined();
  });

  it("gives two statements that differ only in their values one generic form (so one estimate)", () => {
    const random = seededRandom(17);
    const shapes = [
      (v: () => string) =>
        `SELECT e.id FROM encounters e JOIN patients p ON p.id = e.patient_id WHERE e.patient_id = ${v()} AND p.last_name = '${v()}'`,
      (v: () => string) =>
        `SELECT count(*) FROM patients WHERE dob BETWEEN '${v()}' AND '${v()}' OR id IN (${v()}, ${v()})`,
      (v: () => string) =>
        `SELECT id FROM patients WHERE last_name LIKE '${v()}%' AND id > -${v()} ORDER BY 1 LIMIT 7`,
      (v: () => string) =>
        `SELECT * FROM encounters e1, encounters e2 WHERE e1.patient_id = ${v()} AND e2.patient_id = ${v()} + 1`,
    ];
    for (const shape of shapes) {
      const forms = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const g = generic(shape(() => String(Math.floor(random() * 5000))));
        forms.add(JSON.stringify(g));
      }
      expect(forms.size).toBe(1);
    }
  });
});

describe("the generic plan on PostgreSQL's planner", () => {
  it("estimates a lookup or range from the column in general, never from where the value falls", async () => {
    // The planner that sees the values tells a heavy patient (400 encounters) from a light one, 'Lee' from a rare
    // name, a wide range from a narrow one; the generic plan gives each pair one figure.
    const pairs: [string, string][] = [
      ["SELECT * FROM encounters WHERE patient_id = 1", "SELECT * FROM encounters WHERE patient_id = 1500"],
      ["SELECT * FROM patients WHERE last_name = 'Lee'", "SELECT * FROM patients WHERE last_name = 'L17'"],
      ["SELECT * FROM patients WHERE id > 10", "SELECT * FROM patients WHERE id > 1990"],
      [
        "SELECT * FROM encounters WHERE patient_id IN (1, 2, 3)",
        "SELECT * FROM encounters WHERE patient_id IN (1001, 1002, 1003)",
      ],
      [
        "SELECT * FROM encounters e, patients p WHERE p.id = e.patient_id AND p.id = 1",
        "SELECT * FROM encounters e, patients p WHERE p.id = e.patient_id AND p.id = 1500",
      ],
    ];
    for (const [a, b] of pairs) {
      expect(await visibleEstimate(a)).not.toBe(await visibleEstimate(b));
      expect(await genericEstimate(generic(a))).toBe(await genericEstimate(generic(b)));
    }
    // The caller's own parameters are not seen either.
    const withParam = "SELECT * FROM encounters WHERE patient_id = $1";
    expect(await visibleEstimate(withParam, [1])).not.toBe(await visibleEstimate(withParam, [1500]));
    expect(await genericEstimate(generic(withParam, 1))).toBe(
      await genericEstimate(generic("SELECT * FROM encounters WHERE patient_id = 1")),
    );
  });

  it("lets no value made without a literal reach the planner (the twenty-sixth outside attack)", async () => {
    // Any integer from NULLs (num_nulls counts them), or from pi() and current_date, with no literal at all.
    const nulls = (k: number) =>
      k === 0 ? "num_nonnulls(NULL)" : `num_nulls(${Array.from({ length: k }, () => "NULL").join(", ")})`;
    const lit = (n: number): string =>
      n < 10 ? nulls(n) : `(${lit(Math.floor(n / 10))} * ${nulls(10)} + ${nulls(n % 10)})`;
    const heavy = `SELECT * FROM encounters WHERE patient_id = ${lit(1)}`;
    const light = `SELECT * FROM encounters WHERE patient_id = ${lit(1500)}`;
    expect(await visibleEstimate(heavy)).not.toBe(await visibleEstimate(light));
    expect(await genericEstimate(generic(heavy))).toBe(await genericEstimate(generic(light)));
    const fromPi = (power: number) =>
      `SELECT * FROM encounters WHERE patient_id = floor(pi() ^ ${power})::int`;
    expect(await visibleEstimate(fromPi(0))).not.toBe(await visibleEstimate(fromPi(7)));
    expect(await genericEstimate(generic(fromPi(0)))).toBe(await genericEstimate(generic(fromPi(7))));
    expect(generic("SELECT extract(year FROM current_date), pi(), pg_catalog.now(), JSON_OBJECT()").sql).toBe(
      "SELECT extract(year FROM (SELECT current_date)), (SELECT pi()), (SELECT pg_catalog.now()), (SELECT JSON_OBJECT())",
    );
    // The planner ran a folded LIKE pattern over the most common values, and its error ('Le%\' matches 'Lee',
    // one of them) told which prefixes occur; a pattern it cannot see is never run there.
    const chars = (text: string) => [...text].map((c) => `chr(${lit(c.charCodeAt(0))})`).join(" || ");
    const prefix = (needle: string) =>
      `SELECT id FROM patients WHERE last_name LIKE ${chars(`${needle}%\\`)}`;
    await expect(visibleEstimate(prefix("Le"))).rejects.toMatchObject({ code: "22025" });
    expect(await visibleEstimate(prefix("Zq"))).toBeGreaterThan(0);
    expect(await genericEstimate(generic(prefix("Le")))).toBe(await genericEstimate(generic(prefix("Zq"))));
    // A FROM item that makes a value from nothing is pulled up as that constant (the twenty-seventh outside
    // attack: `FROM pi() AS z`, then any number from z); it leaves no generic form, nor does ROWS FROM or LATERAL.
    const fromPiLit = (n: number) =>
      `SELECT e.id FROM encounters e, pi() AS z WHERE e.patient_id = ${n === 1 ? "z::int / z::int" : "z::int * z::int * z::int"}`;
    expect(await visibleEstimate(fromPiLit(1))).not.toBe(await visibleEstimate(fromPiLit(27)));
    for (const sql of [
      fromPiLit(1),
      "SELECT e.id FROM encounters e, ROWS FROM (pi(), pi()) AS z(a, b) WHERE e.patient_id = z.a::int",
      "SELECT e.id FROM encounters e, LATERAL pg_catalog.pi() AS z WHERE e.patient_id = z::int",
      "SELECT e.id FROM encounters e, make_interval() AS z WHERE e.id > 0",
    ])
      expect(genericStatement(sql, 0), sql).toBeUndefined();
    // A FROM function of parameters or of generate_series' counts is not folded: it keeps its generic form.
    expect(genericStatement("SELECT * FROM generate_series(1, 60) g, abs(-5) AS a", 0)?.sql).toBe(
      "SELECT * FROM generate_series(1, 60) g, abs($1) AS a",
    );
    // Any leaf not on the lists fails closed (here a row lock's clause, never estimated: the gateway refuses it).
    expect(genericStatement("SELECT id FROM patients FOR UPDATE", 0)).toBeUndefined();
    // Leaves that can be neither a parameter nor wrapped leave no generic form (the estimate fails closed).
    expect(genericStatement("SELECT cardinality(ARRAY[]::int[]) FROM patients", 0)).toBeUndefined();
    expect(genericStatement("SELECT ROW() IS NULL FROM patients", 0)).toBeUndefined();
  });

  it("prepares every statement of the oracle corpus and 1,500 generated ones that PostgreSQL can explain", async () => {
    const { pool, protectedColumns } = demoGeneratorInputs();
    const statements = [
      ...oracleCorpus()
        .filter((s) => s.run !== false)
        .map((s) => ({ sql: s.sql, params: [] as readonly unknown[] })),
      ...generateStatements({ seed: 23, count: 1_500, pool, protectedColumns }).map((s) => ({
        sql: s.sql,
        params: s.params ?? [],
      })),
    ];
    let explained = 0;
    let withValues = 0;
    const failures: string[] = [];
    for (const { sql, params } of statements) {
      if (!/^\s*(SELECT|WITH|VALUES|TABLE|\()/i.test(sql)) continue;
      try {
        await visibleEstimate(sql, params);
      } catch {
        continue; // PostgreSQL cannot explain it: nothing to estimate either way
      }
      explained++;
      const made = genericStatement(sql, params.length);
      if (made === undefined) {
        // By design: a FROM item that calls a function with no arguments (`FROM touch_audit()`), and what the
        // gateway refuses before any estimate (row locks, data-modifying CTEs), whose nodes are not on the list.
        const refusedFirst =
          /\bFOR (UPDATE|NO KEY UPDATE|SHARE|KEY SHARE)\b|\b(INSERT|MERGE|UPDATE|DELETE)\b/i;
        if (!/(FROM|,)\s+[a-z_.]+\(\)/i.test(sql) && !refusedFirst.test(sql))
          failures.push(`no generic form: ${sql}`);
        continue;
      }
      if (made.types.length > params.length) withValues++;
      // Nothing left to hide: made again, no parameter is added (only kept literals remain; a leaf already wrapped
      // is wrapped once more, which changes nothing).
      let again: GenericStatement | undefined;
      try {
        again = genericStatement(made.sql, made.types.length);
      } catch (error) {
        failures.push(`${(error as Error).message}: ${made.sql} FROM ${sql}`);
        continue;
      }
      expect(again?.types.length).toBe(made.types.length);
      // No string or decimal is left but JSON_TABLE's paths (`'$' COLUMNS`, `PATH '$.a'`).
      const tokens = pgScan(made.sql);
      const literals = tokens.filter(
        (t, i) =>
          /^(SCONST|FCONST|USCONST)$/.test(t.tokenName) &&
          !/^columns$/i.test(tokens[i + 1]?.text ?? "") &&
          !/^path$/i.test(tokens[i - 1]?.text ?? ""),
      );
      expect(literals.map((t) => t.text)).toEqual([]);
      await genericEstimate(made).catch((error: unknown) =>
        failures.push(`${(error as Error).message}: ${made.sql}`),
      );
    }
    expect(failures).toEqual([]);
    expect(explained).toBeGreaterThan(1_000);
    expect(withValues).toBeGreaterThan(500);
  }, 120_000);
});

describe("typing the generic statement's parameters", () => {
  it("gives equal literals of different types their own parameters when one fails the statement", async () => {
    const made = generic("SELECT * FROM patients WHERE last_name = '1001' AND id = '1001'");
    expect(made.sql).toBe("SELECT * FROM patients WHERE last_name = $1 AND id = $1");
    expect(made.separate?.sql).toBe("SELECT * FROM patients WHERE last_name = $1 AND id = $2");
    expect(await genericEstimate(made)).toBeGreaterThan(0);
  });

  it("types the untyped arguments of one call together, and a tested literal as text", async () => {
    const made = generic(
      "SELECT concat('a', 'b', 'c'), json_build_object('k', NULL), 'x' IS NULL FROM patients",
    );
    expect(made.types).toEqual(["unknown", "unknown", "unknown", "unknown", "unknown", "text"]);
    expect(made.calls?.slice(0, 3)).toEqual([1, 1, 1]);
    expect(await genericEstimate(made)).toBeGreaterThan(0);
  });

  it("fails with a clear reason past 64 retypings", async () => {
    const calls = Array.from({ length: 70 }, (_, i) => `concat('${i}')`).join(", ");
    await expect(genericEstimate(generic(`SELECT ${calls} FROM patients`))).rejects.toThrow(
      /more than 64 literals PostgreSQL cannot type there \(SQLSTATE 42P18\); cast them/,
    );
  });
});

describe("a statement too deep for the rewrite", () => {
  it("is a 400 as the analysis says, never a fault (the twenty-seventh outside attack got a 500)", () => {
    const outcomes: string[] = [];
    for (const depth of [1_300, 2_000, 3_000, 4_000, 6_000]) {
      const sql = `SELECT ${Array.from({ length: depth }, (_, i) => String(i)).join(" + ")} FROM patients`;
      try {
        parseStatement(sql);
      } catch (error) {
        // The analysis refuses it first (so the rewrite never sees it).
        expect(error).toMatchObject({ status: 400, details: { reason: "too_complex" } });
        outcomes.push("parse");
        continue;
      }
      let made: GenericStatement | undefined;
      try {
        made = genericStatement(sql, 0);
      } catch (error) {
        expect(error).toMatchObject({ status: 400, details: { reason: "too_complex" } });
        outcomes.push("rewrite");
        continue;
      }
      expect(made?.types.length).toBe(depth);
      outcomes.push("made");
    }
    expect(outcomes).toContain("rewrite");
  });
});
