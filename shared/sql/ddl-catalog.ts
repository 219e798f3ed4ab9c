// Builds a Catalog from CREATE TABLE statements' parse trees, for tests and benchmarks that have no database.
import { ConfigurationError } from "#shared/errors.ts";
import { pgParse } from "./pg-wasm.ts";
import type { Catalog, CatalogColumn, CatalogRelation } from "./types.ts";
import { stringList } from "./walk-state.ts";

/**
 * A catalog of the tables `ddl` creates (CREATE TABLE only; types are the parse tree's type names, e.g.
 * `int4`, not `format_type` text). The parser must be loaded. Production code loads the catalog from the
 * database with `CATALOG_SQL` instead.
 */
export function catalogFromDdl(ddl: string, searchPath: readonly string[] = ["public"]): Catalog {
  const relations: CatalogRelation[] = [];
  let statements: ReturnType<typeof pgParse>["stmts"];
  try {
    statements = pgParse(ddl).stmts;
  } catch (error) {
    throw new ConfigurationError("The DDL does not parse.", { cause: error });
  }
  for (const raw of statements ?? []) {
    const stmt = raw.stmt;
    if (stmt === undefined || !("CreateStmt" in stmt)) continue;
    const columns: CatalogColumn[] = [];
    for (const element of stmt.CreateStmt.tableElts ?? []) {
      if (!("ColumnDef" in element)) continue;
      const type = stringList(element.ColumnDef.typeName?.names).pop() ?? "unknown";
      const name = element.ColumnDef.colname ?? "";
      // A column's own PRIMARY KEY or UNIQUE constraint makes it unique, as the database's index would.
      const unique = (element.ColumnDef.constraints ?? []).some(
        (c) =>
          "Constraint" in c &&
          (c.Constraint.contype === "CONSTR_PRIMARY" || c.Constraint.contype === "CONSTR_UNIQUE"),
      );
      columns.push(unique ? { name, type, unique } : { name, type });
    }
    const rel = stmt.CreateStmt.relation;
    relations.push({
      schema: rel?.schemaname ?? searchPath[0] ?? "public",
      table: rel?.relname ?? "",
      kind: "table",
      columns,
    });
  }
  return { version: `ddl:${relations.length}`, searchPath: [...searchPath], relations, routines: [] };
}
