// The read-only oracle: PostgreSQL (PGlite) runs every corpus statement in BEGIN READ ONLY ... ROLLBACK; whatever it refuses as a write must not be classified `read`.
import type { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyzeSql } from "#shared/sql/analyze.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog, StatementKind } from "#shared/sql/types.ts";
import { createFixtureDb, loadCatalog } from "./fixture-db.ts";
import { ORACLE_DATA_SQL, oracleCorpus } from "./oracle-corpus.ts";

const READ_ONLY_SQL_TRANSACTION = "25006";

interface Outcome {
  readonly sql: string;
  readonly kind: StatementKind;
  /** `ok`, a SQLSTATE, or `not_run`. */
  readonly result: string;
  /** The result column names PostgreSQL returned (when it ran and returned a row description). */
  readonly fields?: readonly string[];
  /** The output names classify predicted, when it claims to know them all. */
  readonly predicted?: readonly string[];
}

let db: PGlite;
let catalog: Catalog;
const outcomes: Outcome[] = [];

async function runReadOnly(sql: string): Promise<{ result: string; fields?: string[] }> {
  await db.exec("BEGIN READ ONLY");
  try {
    const results = await db.exec(sql);
    const last = results[results.length - 1];
    return last !== undefined && last.fields.length > 0
      ? { result: "ok", fields: last.fields.map((f) => f.name) }
      : { result: "ok" };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { result: typeof code === "string" ? code : "no_sqlstate" };
  } finally {
    await db.exec("ROLLBACK");
  }
}

beforeAll(async () => {
  await loadSqlParser();
  db = await createFixtureDb();
  await db.exec(ORACLE_DATA_SQL);
  catalog = await loadCatalog(db);
  for (const statement of oracleCorpus()) {
    const classification = analyzeSql(statement.sql, catalog).classification;
    const ran = statement.run === false ? { result: "not_run" } : await runReadOnly(statement.sql);
    const predicted =
      classification.outputsComplete === false
        ? {}
        : { predicted: classification.outputs.map((o) => o.name) };
    outcomes.push({ sql: statement.sql, kind: classification.kind, ...ran, ...predicted });
  }
}, 300_000);

afterAll(async () => {
  await db.close();
});

describe("read-only oracle", () => {
  it("runs a corpus of at least 300 distinct statements", () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(300);
    expect(new Set(outcomes.map((o) => o.sql)).size).toBe(outcomes.length);
  });

  it("never classifies as read a statement PostgreSQL refuses in a read-only transaction", () => {
    const misclassified = outcomes.filter((o) => o.result === READ_ONLY_SQL_TRANSACTION && o.kind === "read");
    expect(misclassified).toEqual([]);
  });

  it("sees PostgreSQL run, or refuse for another reason, everything classified read", () => {
    const reads = outcomes.filter((o) => o.kind === "read");
    expect(reads.filter((o) => o.result === READ_ONLY_SQL_TRANSACTION)).toEqual([]);
    expect(reads.filter((o) => o.result === "ok").length).toBeGreaterThanOrEqual(80);
  });

  it("exercises many refusals, and classifies what is not run as something other than read", () => {
    expect(outcomes.filter((o) => o.result === READ_ONLY_SQL_TRANSACTION).length).toBeGreaterThanOrEqual(100);
    const notRun = outcomes.filter((o) => o.result === "not_run");
    expect(notRun.filter((o) => o.kind === "read").map((o) => o.sql)).toEqual([
      "SELECT pg_read_file('/etc/hostname')",
      "SELECT pg_ls_dir('.')",
    ]);
    const dynamic = outcomes.find((o) => o.sql.includes("query_to_xml('SELECT nextval"));
    expect(dynamic).toMatchObject({ result: READ_ONLY_SQL_TRANSACTION, kind: "call" });
  });

  it("predicts the result's columns, by name and in order, wherever it claims to know them all", () => {
    const compared = outcomes.filter((o) => o.fields !== undefined && o.predicted !== undefined);
    const mismatches = compared.filter((o) => JSON.stringify(o.fields) !== JSON.stringify(o.predicted));
    expect(mismatches.map((o) => ({ sql: o.sql, postgres: o.fields, predicted: o.predicted }))).toEqual([]);
    expect(compared.length).toBeGreaterThanOrEqual(100);
  });

  it("reports its counts", () => {
    const refused = outcomes.filter((o) => o.result === READ_ONLY_SQL_TRANSACTION);
    const counts = {
      statements: outcomes.length,
      run: outcomes.filter((o) => o.result !== "not_run").length,
      notRun: outcomes.filter((o) => o.result === "not_run").length,
      refusedAsWrite: refused.length,
      refusedAsWriteByKind: Object.fromEntries(
        [...new Set(refused.map((o) => o.kind))]
          .sort()
          .map((k) => [k, refused.filter((o) => o.kind === k).length]),
      ),
      misclassifiedAsRead: refused.filter((o) => o.kind === "read").length,
      classifiedRead: outcomes.filter((o) => o.kind === "read").length,
      classifiedReadAndRan: outcomes.filter((o) => o.kind === "read" && o.result === "ok").length,
      notReadButRan: outcomes.filter((o) => o.kind !== "read" && o.result === "ok").length,
      otherErrors: outcomes.filter((o) => !["ok", "not_run", READ_ONLY_SQL_TRANSACTION].includes(o.result))
        .length,
      outputColumnsCompared: outcomes.filter((o) => o.fields !== undefined && o.predicted !== undefined)
        .length,
    };
    console.log(`read-only oracle: ${JSON.stringify(counts)}`);
    if (process.env.ORACLE_DETAILS === "1") {
      for (const o of outcomes) console.log(`${o.result}\t${o.kind}\t${o.sql}`);
    }
    expect(counts.misclassifiedAsRead).toBe(0);
  });
});
