// Reads the database catalog (relations, columns, search path) with one query any executor can run.

import { sha256Hex } from "#shared/crypto/digest.ts";
import type { Catalog, CatalogRelation } from "#shared/sql/types.ts";

/** One row, one JSON column: the search path and every user relation with its columns in attribute order. */
export const CATALOG_SQL = `
SELECT json_build_object(
  'searchPath', current_schemas(false),
  'relations', coalesce((
    SELECT json_agg(json_build_object(
      'schema', n.nspname, 'table', c.relname, 'relkind', c.relkind,
      'columns', coalesce((
        SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'::json))
      ORDER BY n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'), '[]'::json)
)::text AS catalog`;

const KINDS: Readonly<Record<string, CatalogRelation["kind"]>> = {
  r: "table",
  v: "view",
  m: "matview",
  f: "foreign",
  p: "partitioned",
  S: "sequence",
};

/** Builds a Catalog from the rows of CATALOG_SQL (text values). */
export function catalogFromRows(rows: readonly (readonly unknown[])[]): Catalog {
  const text = rows[0]?.[0];
  if (typeof text !== "string") throw new TypeError("catalog query returned no row");
  const raw = JSON.parse(text) as {
    searchPath: string[];
    relations: {
      schema: string;
      table: string;
      relkind: string;
      columns: { name: string; type: string }[];
    }[];
  };
  return {
    version: sha256Hex(text),
    searchPath: raw.searchPath,
    relations: raw.relations.map((r) => ({
      schema: r.schema,
      table: r.table,
      kind: KINDS[r.relkind] ?? "unknown",
      columns: r.columns,
    })),
  };
}
