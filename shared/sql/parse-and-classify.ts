// analyzeSql(): parse and classify in one call, against a catalog or through a CatalogCache.
import type { CatalogCache } from "./catalog-cache.ts";
import { classify } from "./classify.ts";
import { type ParsedStatement, parseStatement } from "./parser.ts";
import type { Catalog, Classification } from "./types.ts";

/** A parsed and classified statement. */
export interface SqlAnalysis {
  readonly statement: ParsedStatement;
  readonly classification: Classification;
  /** The catalog the classification used. */
  readonly catalog: Catalog;
}

/** Parses `sql` (exactly one statement) and classifies it against `catalog`. Throws only `BadRequestError`. */
export function analyzeSql(sql: string, catalog: Catalog): SqlAnalysis {
  const statement = parseStatement(sql);
  return { statement, classification: classify(statement, catalog), catalog };
}

/** True when the classification names a relation or column the catalog does not know (it may be stale). */
export function mentionsUnknown(classification: Classification): boolean {
  if ((classification.unresolvedColumns ?? []).length > 0) return true;
  return classification.relations.some(
    (r) => r.kind === "unknown" && !(r.access ?? []).every((mode) => mode === "ddl"),
  );
}

/**
 * Parses `sql`, classifies it against the cached catalog and, when the statement names something that catalog
 * does not know, refreshes the catalog at once (rate-limited by the cache) and classifies again.
 */
export async function analyzeSqlWithCache(sql: string, cache: CatalogCache): Promise<SqlAnalysis> {
  const statement = parseStatement(sql);
  const catalog = await cache.get();
  const classification = classify(statement, catalog);
  if (!mentionsUnknown(classification)) return { statement, classification, catalog };
  const fresh = await cache.refreshIfStale(catalog);
  if (fresh === catalog) return { statement, classification, catalog };
  return { statement, classification: classify(statement, fresh), catalog: fresh };
}
