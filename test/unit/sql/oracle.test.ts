// The read-only oracle: PostgreSQL (PGlite) runs every corpus statement in BEGIN READ ONLY ... ROLLBACK; whatever it refuses as a write must not be classified `read`.
import { type PGlite, protocol } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNKNOWN_NAME } from "#shared/sql/output-names.ts";
import { analyzeSql } from "#shared/sql/parse-and-classify.ts";
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
  /** The result column names PostgreSQL returned (when it ran and described rows). */
  readonly fields?: readonly string[];
  /** Per result column, the base column PostgreSQL says it plainly references (`schema.table.column`). */
  readonly origins?: readonly (string | undefined)[];
  /** The output names classify predicted, when it claims to know them all. */
  readonly predicted?: readonly string[];
  /** Per output, its kind and sources as classify says (`schema.table.column`). */
  readonly lineage: readonly { readonly kind: string; readonly sources: readonly string[] }[];
}

interface Run {
  readonly result: string;
  readonly fields?: string[];
  readonly origins?: (string | undefined)[];
}

let db: PGlite;
let catalog: Catalog;
/** `schema.table.column` by `tableOID:attnum`, to read RowDescription origins. */
let columnNames = new Map<string, string>();
const outcomes: Outcome[] = [];

async function runReadOnly(sql: string): Promise<Run> {
  await db.exec("BEGIN READ ONLY");
  try {
    const { messages } = await db.execProtocol(protocol.serialize.query(sql));
    let fields: { name: string; tableID: number; columnID: number }[] = [];
    for (const message of messages) {
      if (message instanceof protocol.messages.RowDescriptionMessage) fields = message.fields;
    }
    if (fields.length === 0) return { result: "ok" };
    return {
      result: "ok",
      fields: fields.map((f) => f.name),
      origins: fields.map((f) =>
        f.tableID === 0 ? undefined : columnNames.get(`${f.tableID}:${f.columnID}`),
      ),
    };
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
  const attributes = await db.query<{ key: string; name: string }>(
    `SELECT c.oid || ':' || a.attnum AS key, n.nspname || '.' || c.relname || '.' || a.attname AS name
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE a.attnum > 0`,
  );
  columnNames = new Map(attributes.rows.map((r) => [r.key, r.name]));
  for (const statement of oracleCorpus()) {
    const classification = analyzeSql(statement.sql, catalog).classification;
    const run: Run = statement.run === false ? { result: "not_run" } : await runReadOnly(statement.sql);
    outcomes.push({
      sql: statement.sql,
      kind: classification.kind,
      ...run,
      ...(classification.outputsComplete === false
        ? {}
        : { predicted: classification.outputs.map((o) => o.name) }),
      lineage: classification.outputs.map((o) => ({
        kind: o.kind,
        sources: o.sources.map((c) => `${c.schema}.${c.table}.${c.column}`),
      })),
    });
  }
}, 300_000);

afterAll(async () => {
  await db.close();
});

function counts() {
  const refused = outcomes.filter((o) => o.result === READ_ONLY_SQL_TRANSACTION);
  const kinds = [...new Set(refused.map((o) => o.kind))].sort();
  return {
    statements: outcomes.length,
    run: outcomes.filter((o) => o.result !== "not_run").length,
    notRun: outcomes.filter((o) => o.result === "not_run").length,
    refusedAsWrite: refused.length,
    refusedAsWriteByKind: Object.fromEntries(
      kinds.map((k) => [k, refused.filter((o) => o.kind === k).length]),
    ),
    misclassifiedAsRead: refused.filter((o) => o.kind === "read").length,
    classifiedRead: outcomes.filter((o) => o.kind === "read").length,
    classifiedReadAndRan: outcomes.filter((o) => o.kind === "read" && o.result === "ok").length,
    notReadButRan: outcomes.filter((o) => o.kind !== "read" && o.result === "ok").length,
    otherErrors: outcomes.filter((o) => !["ok", "not_run", READ_ONLY_SQL_TRANSACTION].includes(o.result))
      .length,
    outputNamesCompared: outcomes.filter((o) => o.fields !== undefined && o.predicted !== undefined).length,
    plainColumnOriginsChecked: outcomes.reduce(
      (n, o) => n + (o.predicted === undefined ? 0 : (o.origins ?? []).filter((x) => x !== undefined).length),
      0,
    ),
  };
}

describe("read-only oracle", () => {
  it("runs a corpus of at least 300 distinct statements", () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(300);
    expect(new Set(outcomes.map((o) => o.sql)).size).toBe(outcomes.length);
  });

  it("never classifies as read a statement PostgreSQL refuses in a read-only transaction", () => {
    const misclassified = outcomes.filter((o) => o.result === READ_ONLY_SQL_TRANSACTION && o.kind === "read");
    expect(misclassified.map((o) => o.sql)).toEqual([]);
  });

  it("sees PostgreSQL run, or refuse for another reason, everything classified read", () => {
    const reads = outcomes.filter((o) => o.kind === "read");
    expect(reads.filter((o) => o.result === READ_ONLY_SQL_TRANSACTION).map((o) => o.sql)).toEqual([]);
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
    // UNKNOWN_NAME is the analysis admitting it cannot know a name (a reference to it fails closed).
    const mismatches = compared.filter(
      (o) =>
        o.fields?.length !== o.predicted?.length ||
        o.predicted?.some((name, i) => name !== UNKNOWN_NAME && name !== o.fields?.[i]),
    );
    expect(mismatches.map((o) => ({ sql: o.sql, postgres: o.fields, predicted: o.predicted }))).toEqual([]);
    expect(compared.length).toBeGreaterThanOrEqual(100);
  });

  it("calls a copy of that column every output PostgreSQL reports as a plain column reference", () => {
    const views = new Set(
      catalog.relations
        .filter((r) => r.kind === "view" || r.kind === "matview")
        .map((r) => `${r.schema}.${r.table}`),
    );
    const wrong: unknown[] = [];
    for (const o of outcomes) {
      if (o.origins === undefined || o.predicted === undefined) continue;
      o.origins.forEach((origin, i) => {
        if (origin === undefined) return;
        const output = o.lineage[i];
        // PostgreSQL names a view's column as the origin whatever the view computes: only require the source.
        const viewColumn = views.has(origin.slice(0, origin.lastIndexOf(".")));
        if (!output?.sources.includes(origin) || (!viewColumn && output.kind !== "copy")) {
          wrong.push({ sql: o.sql, column: i, origin, output });
        }
      });
    }
    expect(wrong).toEqual([]);
    expect(counts().plainColumnOriginsChecked).toBeGreaterThanOrEqual(200);
  });

  it("reports its counts", () => {
    const summary = counts();
    console.log(`read-only oracle: ${JSON.stringify(summary)}`);
    if (process.env.ORACLE_DETAILS === "1") {
      for (const o of outcomes) console.log(`${o.result}\t${o.kind}\t${o.sql}`);
    }
    expect(summary.misclassifiedAsRead).toBe(0);
  });
});
