// Tests of parseStatement: one statement, PostgreSQL's messages and positions, and a fuzz proving it only throws BadRequestError.
import { beforeAll, describe, expect, it } from "vitest";
import { BadRequestError } from "#shared/errors.ts";
import { classify } from "#shared/sql/classify.ts";
import { catalogFromDdl } from "#shared/sql/ddl-catalog.ts";
import { loadSqlParser, MAX_SQL_LENGTH, parseStatement } from "#shared/sql/parser.ts";
import type { Catalog } from "#shared/sql/types.ts";
import { seededRandom } from "#test/support/seeded-random.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

let catalog: Catalog;

beforeAll(async () => {
  await loadSqlParser();
  catalog = catalogFromDdl(EHR_SCHEMA_SQL);
});

function failure(sql: string): BadRequestError {
  try {
    parseStatement(sql);
  } catch (error) {
    if (error instanceof BadRequestError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(sql.slice(0, 40))} to be refused`);
}

describe("parseStatement", () => {
  it("returns the statement node, its type and where it lies", () => {
    const parsed = parseStatement("  /* report */ SELECT id FROM patients ;  -- done");
    expect(parsed.type).toBe("SelectStmt");
    expect(parsed.node).toHaveProperty("SelectStmt");
    expect(parsed.sql.slice(parsed.location.start, parsed.location.end).trim()).toBe(
      "SELECT id FROM patients",
    );
  });

  it("converts PostgreSQL's byte offsets to string offsets", () => {
    const sql = "/* é😀 */ SELECT 'ü' AS x";
    const parsed = parseStatement(sql);
    expect(sql.slice(parsed.location.start, parsed.location.end)).toBe("SELECT 'ü' AS x");
  });

  it("accepts statements with surrounding semicolons", () => {
    expect(parseStatement(";;SELECT 1;;").type).toBe("SelectStmt");
  });

  it.each([
    ["", "empty"],
    ["   \n\t ", "empty"],
    ["-- only a comment", "empty"],
    ["/* only a comment */", "empty"],
    [";", "empty"],
    [" ; ; ", "empty"],
  ])("refuses %j as invalid_sql (%s)", (sql, reason) => {
    const error = failure(sql);
    expect(error.code).toBe("invalid_sql");
    expect(error.details).toMatchObject({ reason });
  });

  it.each(["SELECT 1; SELECT 2", "SELECT 1;DROP TABLE patients", "BEGIN; SELECT 1; COMMIT"])(
    "refuses %j as multiple_statements",
    (sql) => {
      expect(failure(sql).code).toBe("multiple_statements");
    },
  );

  it("reports PostgreSQL's message and 1-based character position", () => {
    const error = failure("SELECT id FROM patients WHER id = 1");
    expect(error.code).toBe("invalid_sql");
    expect(error.message).toBe('syntax error at or near "id"');
    expect(error.details).toEqual({ reason: "syntax", position: 30 });
    expect(failure("SELEC 1").details).toEqual({ reason: "syntax", position: 1 });
  });

  it("counts the position in characters, as PostgreSQL does", () => {
    expect(failure("SELECT 'ééé' frm x").details).toEqual({ reason: "syntax", position: 18 });
    expect(failure("SELECT '😀😀' frm x").details).toEqual({ reason: "syntax", position: 17 });
  });

  it("refuses NUL characters, which would cut the statement short in the parser and on the wire", () => {
    const error = failure("SELECT 1\u0000; DROP TABLE patients");
    expect(error.details).toEqual({ reason: "nul_character" });
  });

  it("refuses lone surrogates but accepts surrogate pairs", () => {
    expect(failure("SELECT '\uD800'").details).toEqual({ reason: "invalid_unicode" });
    expect(failure("SELECT '\uDC00x'").details).toEqual({ reason: "invalid_unicode" });
    expect(failure("SELECT 'a\uD83D'").details).toEqual({ reason: "invalid_unicode" });
    expect(parseStatement("SELECT '\uD83D\uDE00'").type).toBe("SelectStmt");
  });

  it("refuses text longer than MAX_SQL_LENGTH before parsing it", () => {
    const sql = `SELECT '${"x".repeat(MAX_SQL_LENGTH)}'`;
    expect(failure(sql).details).toEqual({ reason: "too_long" });
    expect(parseStatement(`SELECT '${"x".repeat(MAX_SQL_LENGTH - 100)}'`).type).toBe("SelectStmt");
  });

  it("truncates very long PostgreSQL messages", () => {
    const error = failure(`SELECT '${"x".repeat(5000)}`);
    expect(error.details).toMatchObject({ reason: "syntax" });
    expect(error.message.length).toBeLessThanOrEqual(303);
  });

  it("refuses statements too deep for the parser's stack and stays usable afterwards", async () => {
    const deep = `SELECT ${"1+".repeat(12_000)}1`;
    for (let i = 0; i < 40; i++) {
      const error = failure(deep);
      expect(error.details?.reason).toMatch(/^(too_complex|parser_unavailable)$/);
      if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(parseStatement("SELECT id FROM patients WHERE id = 1").type).toBe("SelectStmt");
  }, 120_000);

  it("refuses nesting deeper than the parser's own limit with PostgreSQL's message", () => {
    const error = failure(`SELECT ${"(".repeat(20_000)}1${")".repeat(20_000)}`);
    expect(error.details).toMatchObject({ reason: "syntax" });
  });
});

describe("parser fuzz", () => {
  const SEEDS = [
    "SELECT p.id, upper(p.ssn) FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.dob > $1",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r",
    "SELECT row_to_json(p) FROM patients p WHERE EXISTS (SELECT 1 FROM medications m WHERE m.patient_id = p.id)",
    "INSERT INTO encounters (id, notes) VALUES (1, 'a''b') ON CONFLICT (id) DO UPDATE SET notes = excluded.notes",
    "COPY (SELECT ssn FROM patients) TO STDOUT WITH (FORMAT csv)",
    "SELECT count(*) FILTER (WHERE sex = 'F') OVER (PARTITION BY state ORDER BY dob) FROM patients",
    'SELECT $$dollar$$, E\'\\x41\', U&"\\0041", B\'101\', 1.5e3, "Quoted ""Ident"""',
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN 1",
    "SELECT JSON_OBJECT('a' VALUE ssn), XMLELEMENT(NAME x, ssn) FROM patients",
    "SELECT * FROM patients FOR UPDATE SKIP LOCKED",
  ];
  const PIECES = [
    "SELECT",
    " ",
    "(",
    ")",
    "'",
    '"',
    "$$",
    "$1",
    ";",
    "--",
    "/*",
    "*/",
    "\\",
    "\u0000",
    "\uD800",
    "\uDFFF",
    "😀",
    "é",
    "\n",
    "\t",
    "FROM",
    "patients",
    "p.*",
    "::",
    "[",
    "]",
    ",",
    "WITH",
    "UNION",
    "E'",
    "U&'",
    "\u2028",
    "\uFEFF",
    "ALL",
    "*",
    "1e999",
    "9".repeat(40),
  ];

  function mutate(text: string, next: () => number): string {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    let out = text;
    const steps = 1 + Math.floor(next() * 4);
    for (let i = 0; i < steps; i++) {
      const at = Math.floor(next() * (out.length + 1));
      const op = next();
      if (op < 0.3) out = out.slice(0, at) + pick(PIECES) + out.slice(at);
      else if (op < 0.55) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(next() * 5));
      else if (op < 0.7)
        out = out.slice(0, at) + String.fromCharCode(Math.floor(next() * 0x10000)) + out.slice(at + 1);
      else if (op < 0.8) out = out.slice(0, at) + out.slice(at, at + 20) + out.slice(at);
      else if (op < 0.9) out = out.slice(0, at);
      else out = `${out};${pick(SEEDS)}`;
    }
    return out;
  }

  function noise(next: () => number): string {
    const length = Math.floor(next() * 60);
    let out = "";
    for (let i = 0; i < length; i++) {
      out +=
        next() < 0.5
          ? PIECES[Math.floor(next() * PIECES.length)]
          : String.fromCharCode(Math.floor(next() * 0x10000));
    }
    return out;
  }

  it("only ever throws BadRequestError, for parse and classify, over 6,000 random and mutated inputs", async () => {
    const next = seededRandom(20_240_601);
    const inputs: string[] = [];
    for (let i = 0; i < 4_000; i++) inputs.push(mutate(SEEDS[i % SEEDS.length] as string, next));
    for (let i = 0; i < 2_000; i++) inputs.push(noise(next));
    inputs.push("(".repeat(50_000), `SELECT ${"-".repeat(30_000)}1`, `SELECT ${"x||".repeat(20_000)}x`);
    inputs.push("x".repeat(MAX_SQL_LENGTH + 1), `${"SELECT 1;".repeat(10_000)}`);
    let parsed = 0;
    const codes = new Map<string, number>();
    for (const [i, sql] of inputs.entries()) {
      try {
        const statement = parseStatement(sql);
        parsed++;
        classify(statement, catalog);
      } catch (error) {
        if (!(error instanceof BadRequestError)) {
          throw new Error(`input ${i} ${JSON.stringify(sql.slice(0, 200))} threw ${String(error)}`);
        }
        expect(["invalid_sql", "multiple_statements"]).toContain(error.code);
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
      if (i % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    expect(inputs.length).toBeGreaterThan(6_000);
    expect(parsed).toBeGreaterThan(200);
    expect(codes.get("invalid_sql")).toBeGreaterThan(1_000);
    expect(codes.get("multiple_statements")).toBeGreaterThan(10);
  }, 300_000);
});
