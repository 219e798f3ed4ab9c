// The built-in functions of the test run's PGlite (read from its pg_proc by the global setup), for catalogs built without a database.

import { readFileSync } from "node:fs";
import { catalogFromDdl } from "#shared/sql/ddl-catalog.ts";
import type { Catalog, CatalogRoutine } from "#shared/sql/types.ts";

let cached: readonly CatalogRoutine[] | undefined;

/** PGlite's built-ins as `CATALOG_SQL` lists them (what the function rule admits calls by). */
export function testBuiltins(): readonly CatalogRoutine[] {
  if (cached === undefined) {
    const path = process.env.PHIGATE_TEST_BUILTINS;
    if (path === undefined) throw new Error("PHIGATE_TEST_BUILTINS is not set (the global setup writes it)");
    cached = JSON.parse(readFileSync(path, "utf8")) as CatalogRoutine[];
  }
  return cached;
}

/** `catalogFromDdl` with the test run's built-ins, as a catalog read from the database would have them. */
export function ddlCatalog(ddl: string, searchPath?: readonly string[]): Catalog {
  return { ...catalogFromDdl(ddl, searchPath), builtins: testBuiltins() };
}
