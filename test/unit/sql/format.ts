// Compact, readable renderings of a Classification for table-driven tests.
import type { Catalog, Classification, OutputColumnLineage, TableRef } from "#shared/sql/types.ts";

function tableName(ref: TableRef): string {
  return ref.schema === "public" ? ref.table : `${ref.schema}.${ref.table}`;
}

/** `patients`, `billing.invoices` (public is implied); `+via view` when reached through a view only. */
export function relationsOf(c: Classification): string[] {
  return c.relations.map(
    (r) => `${tableName(r)}${r.direct === false ? `<${(r.via ?? []).map(tableName).join(",")}` : ""}`,
  );
}

/** `patients:table:read+write`. */
export function relationKindsOf(c: Classification): string[] {
  return c.relations.map((r) => `${tableName(r)}:${r.kind}:${(r.access ?? []).join("+")}`);
}

/** `patients.ssn:output+predicate`. */
export function columnsOf(c: Classification): string[] {
  return c.columns.map((col) => `${tableName(col)}.${col.column}:${col.clauses.join("+")}`);
}

/** `upper`, `pg_catalog.upper`, `mask_ssn!` (user-defined). */
export function functionsOf(c: Classification): string[] {
  return c.functions.map(
    (f) => `${f.schema === undefined ? "" : `${f.schema}.`}${f.name}${f.origin === "user" ? "!" : ""}`,
  );
}

/** `patients:output`. */
export function wholeRowsOf(c: Classification): string[] {
  return c.wholeRows.map((w) => `${tableName(w)}:${w.clauses.join("+")}`);
}

/**
 * `name=kind(sources)[transforms]{whole rows}!` — sources as `table.column`, or `table.*` when a whole row
 * of the table is listed and every catalog column of it is a source; `!` when opaque.
 */
export function outputsOf(c: Classification, catalog: Catalog): string[] {
  return c.outputs.map((o) => formatOutput(o, catalog));
}

function formatOutput(o: OutputColumnLineage, catalog: Catalog): string {
  const sources: string[] = [];
  const whole = new Set(o.wholeRows.map(tableName));
  const abbreviated = new Set<string>();
  for (const table of whole) {
    const relation = catalog.relations.find((r) => tableName(r) === table);
    const columns = relation?.columns.map((col) => col.name) ?? [];
    const present = new Set(o.sources.filter((s) => tableName(s) === table).map((s) => s.column));
    if (columns.length > 0 && columns.every((col) => present.has(col))) abbreviated.add(table);
  }
  for (const s of o.sources) {
    const table = tableName(s);
    if (abbreviated.has(table)) {
      if (!sources.includes(`${table}.*`)) sources.push(`${table}.*`);
    } else sources.push(`${table}.${s.column}`);
  }
  const transforms = o.transforms.length > 0 ? `[${o.transforms.join(",")}]` : "";
  const rows = o.wholeRows.length > 0 ? `{${o.wholeRows.map(tableName).join(",")}}` : "";
  return `${o.name}=${o.kind}(${sources.join(",")})${transforms}${rows}${o.opaque === true ? "!" : ""}`;
}
