// The XML operations' one name map: each names its output column as PostgreSQL does and is reported as the function it is.
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyzeSql } from "#shared/sql/parse-and-classify.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog } from "#shared/sql/types.ts";
import { loadCatalog } from "./fixture-db.ts";

/** One statement per XmlExpr operation, and the function name the analysis reports for it. */
const CASES: readonly (readonly [sql: string, fn: string])[] = [
  ["SELECT xmlconcat('<a/>'::xml, '<b/>'::xml)", "xmlconcat"],
  ["SELECT xmlelement(name p, 'x')", "xmlelement"],
  ["SELECT xmlforest('x' AS a)", "xmlforest"],
  ["SELECT xmlparse(document '<a/>')", "xmlparse"],
  ["SELECT xmlpi(name php)", "xmlpi"],
  ["SELECT xmlroot('<a/>'::xml, version '1.0')", "xmlroot"],
  ["SELECT '<a/>'::xml IS DOCUMENT", "is_document"],
];

describe("XML operation names", () => {
  let db: PGlite;
  let catalog: Catalog;
  beforeAll(async () => {
    await loadSqlParser();
    db = await PGlite.create();
    catalog = await loadCatalog(db);
  });
  afterAll(() => db.close());

  it.each(CASES)("%s: the output column PostgreSQL names, the function %s", async (sql, fn) => {
    const { classification } = analyzeSql(sql, catalog);
    const described = await db.query(sql);
    expect(classification.outputs.map((o) => o.name)).toEqual(described.fields.map((f) => f.name));
    expect(classification.functions.map((f) => f.name)).toContain(fn);
  });
});
