// The catalog query an executor runs, and the conversion of its rows into a Catalog.
import * as z from "zod";
import { ConfigurationError } from "#shared/errors.ts";
import type { Catalog, CatalogRelation, CatalogRoutine, CellValue } from "./types.ts";

/**
 * One read-only query returning the catalog, one row per relation or user-defined routine name, columns
 * {@link CATALOG_COLUMNS}. Relations: every table, view, materialized view, foreign table, partitioned table
 * and sequence outside `pg_toast` and the temporary schemas — `pg_catalog` and `information_schema`
 * included, because unqualified names resolve there first and `*` over them must expand — with columns in
 * attribute order (dropped ones excluded, `format_type` types) and, for views outside the system schemas,
 * `pg_get_viewdef`; a column carries whether a unique index on it alone (no predicate, no expression) exists. Routines: functions, procedures, aggregates and operators outside `pg_catalog` and
 * `information_schema`, grouped by name. Builtins: the routines of `pg_catalog` and `information_schema`, grouped
 * by name, with their most volatile overload's volatility (the function rule admits calls by it). Routines and builtins
 * carry `set` when any overload returns a set (`proretset`: such a call makes rows without a relation; text, as
 * every executor reads values). Every row repeats `current_schemas(false)` and a SHA-256 digest of
 * all of it; a database with no relation at all still returns one row (entry NULL). Rows are small (one
 * relation each), which keeps them under the RDS Data API's per-row limit.
 */
export const CATALOG_SQL = `WITH relations AS (
  SELECT 'relation'::text AS entry, n.nspname::text AS schema_name, c.relname::text AS object_name,
    CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'matview' WHEN 'f' THEN 'foreign'
      WHEN 'p' THEN 'partitioned' ELSE 'sequence' END AS kind,
    COALESCE((SELECT json_agg(json_build_array(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
          EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisunique
            AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum AND i.indpred IS NULL AND i.indexprs IS NULL))
        ORDER BY a.attnum)
      FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'::json)::text AS detail,
    CASE WHEN c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      THEN pg_catalog.pg_get_viewdef(c.oid) END AS definition,
    NULL::text AS returns_set
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S') AND n.nspname <> 'pg_toast'
    AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
), routines AS (
  SELECT 'routine'::text, n.nspname::text, p.proname::text,
    max(p.provolatile::text),
    json_agg(DISTINCT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window'
      ELSE 'function' END)::text,
    NULL::text, CASE WHEN bool_or(p.proretset) THEN 'set' END
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname <> 'pg_toast'
  GROUP BY n.nspname, p.proname
), operators AS (
  SELECT 'operator'::text, n.nspname::text, o.oprname::text, max(COALESCE(p.provolatile, 'v')::text),
    '["operator"]'::text, NULL::text, NULL::text
  FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
    LEFT JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode::oid
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname <> 'pg_toast'
  GROUP BY n.nspname, o.oprname
), builtins AS (
  SELECT 'builtin'::text, n.nspname::text, p.proname::text, max(p.provolatile::text),
    json_agg(DISTINCT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window'
      ELSE 'function' END)::text,
    NULL::text, CASE WHEN bool_or(p.proretset) THEN 'set' END
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname IN ('pg_catalog', 'information_schema')
  GROUP BY n.nspname, p.proname
), entries AS (
  SELECT * FROM relations UNION ALL SELECT * FROM routines UNION ALL SELECT * FROM operators
  UNION ALL SELECT * FROM builtins
), search_path AS (
  SELECT array_to_json(pg_catalog.current_schemas(false))::text AS search_path
), digest AS (
  SELECT encode(pg_catalog.sha256(convert_to(COALESCE(string_agg(concat_ws(E'\\x1f', e.entry, e.schema_name,
      e.object_name, e.kind, e.detail, e.definition, e.returns_set), E'\\x1e'
    ORDER BY e.entry, e.schema_name, e.object_name), '') || (SELECT search_path FROM search_path), 'UTF8')), 'hex')
    AS version
  FROM entries e
)
SELECT e.entry, e.schema_name, e.object_name, e.kind, e.detail, e.definition, e.returns_set, s.search_path,
  d.version
FROM digest d CROSS JOIN search_path s LEFT JOIN entries e ON true
ORDER BY e.entry, e.schema_name, e.object_name`;

/** The columns of {@link CATALOG_SQL}, in order. */
export const CATALOG_COLUMNS = [
  "entry",
  "schema_name",
  "object_name",
  "kind",
  "detail",
  "definition",
  "returns_set",
  "search_path",
  "version",
] as const;

function parseJson(text: string, ctx: z.RefinementCtx): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: "custom", message: "not JSON" });
    return z.NEVER;
  }
}

const jsonText = <T extends z.ZodType>(schema: T) =>
  z.union([z.string().transform(parseJson), z.unknown()]).pipe(schema);

const rowSchema = z.tuple([
  z.enum(["relation", "routine", "operator", "builtin"]).nullable(),
  z.string().nullable(),
  z.string().nullable(),
  z.string().nullable(),
  z.unknown(),
  z.string().nullable(),
  z.literal("set").nullable(),
  jsonText(z.array(z.string())),
  z.string().min(1),
]);

// A column: its name, its type and (since analyzer 7) whether a unique index of its own covers it.
const columnsSchema = jsonText(
  z.array(z.union([z.tuple([z.string(), z.string()]), z.tuple([z.string(), z.string(), z.boolean()])])),
);
const kindsSchema = jsonText(z.array(z.enum(["function", "procedure", "aggregate", "window", "operator"])));
const relationKind = z.enum(["table", "view", "matview", "foreign", "partitioned", "sequence"]);
const volatility = { i: "immutable", s: "stable", v: "volatile" } as const;

function must<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConfigurationError("The catalog query returned an unexpected value.");
  return parsed.data;
}

/**
 * Builds a {@link Catalog} from the rows of {@link CATALOG_SQL} (arrays in {@link CATALOG_COLUMNS} order; JSON
 * columns may arrive as text or already decoded). Throws `ConfigurationError` on rows of another shape.
 */
export function catalogFromRows(rows: readonly (readonly CellValue[])[]): Catalog {
  const relations: CatalogRelation[] = [];
  const routines: CatalogRoutine[] = [];
  const builtins: CatalogRoutine[] = [];
  let searchPath: string[] | undefined;
  let version: string | undefined;
  for (const raw of rows) {
    const [entry, schema, name, kind, detail, definition, returnsSet, path, digest] = must(rowSchema, raw);
    searchPath ??= path;
    version ??= digest;
    if (entry === null) continue;
    if (schema === null || name === null || kind === null) {
      throw new ConfigurationError("The catalog query returned an incomplete row.");
    }
    if (entry === "relation") {
      const columns = must(columnsSchema, detail).map(([column, type, unique]) =>
        unique === true ? { name: column, type, unique } : { name: column, type },
      );
      const relation: CatalogRelation = { schema, table: name, kind: must(relationKind, kind), columns };
      relations.push(definition === null ? relation : { ...relation, definition });
    } else {
      const level = volatility[kind as keyof typeof volatility] ?? "volatile";
      const routine: CatalogRoutine = { schema, name, kinds: must(kindsSchema, detail), volatility: level };
      (entry === "builtin" ? builtins : routines).push(
        returnsSet === "set" ? { ...routine, returnsSet: true } : routine,
      );
    }
  }
  if (searchPath === undefined || version === undefined) {
    throw new ConfigurationError("The catalog query returned no rows.");
  }
  // Every database has built-in functions: none listed means the query did not run as written, and the
  // function rule would have nothing to admit calls by.
  if (builtins.length === 0)
    throw new ConfigurationError("The catalog query returned no built-in functions.");
  return { version, searchPath, relations, routines, builtins };
}
