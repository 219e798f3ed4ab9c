// The StatementAnalyzer both hosts use: parse and classify against a cached catalog read through the executor.
// (It implements the port of shared/ports.ts structurally, so the SQL module needs nothing above it.)

import { CatalogCache } from "#shared/sql/catalog-cache.ts";
import { type CatalogRef, catalogSnapshot } from "#shared/sql/catalog-snapshot.ts";
import { analyzeSqlWithCache } from "#shared/sql/parse-and-classify.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog, Classification } from "#shared/sql/types.ts";

/** A statement after analysis. */
export interface AnalyzedStatement {
  readonly classification: Classification;
  /** The single statement's exact text (no trailing semicolon), what the executor runs. */
  readonly statement: string;
  /** The catalog snapshot the classification used (the production analyzer always says; evidence needs it). */
  readonly catalog?: CatalogRef;
}

/** Where the analyzer reads the catalog (the `SqlExecutor` port's `loadCatalog`). */
export interface CatalogSource {
  loadCatalog(): Promise<Catalog>;
}

/** Where the analyzer archives the snapshots it analyzes against (the `CatalogArchive` port's `put`). */
export interface CatalogSink {
  put(version: string, bytes: Uint8Array): Promise<void>;
}

/** Options of the analyzer. */
export interface StatementAnalyzerOptions {
  /** How long a catalog snapshot is used before it is reloaded (it is also reloaded when a statement names something unknown). */
  readonly catalogTtlMs?: number;
  /** How many analyses to keep (the same text against the same catalog is never parsed twice). */
  readonly cacheEntries?: number;
  /**
   * Where every catalog snapshot is archived (by version, once per version) before any statement is analyzed
   * against it; a failed put fails the load, so no session cites a catalog evidence cannot find.
   */
  readonly archive?: CatalogSink;
}

/**
 * An analyzer whose catalog comes from `executor.loadCatalog()` (cached, refreshed on TTL and when a statement
 * names a relation or column the cached catalog doesn't know), archived through `options.archive`. The statement handed to the executor is the
 * exact text PostgreSQL's parser delimited, so nothing outside the one parsed statement can run.
 */
export async function createStatementAnalyzer(
  executor: CatalogSource,
  options: StatementAnalyzerOptions = {},
): Promise<{ analyze(sql: string): Promise<AnalyzedStatement>; catalog(): Promise<Catalog> }> {
  // The parser's WASM compiles while the host finishes starting; the first analysis waits for it (a failed load is
  // tried again there, and fails that request).
  loadSqlParser().catch(() => {});
  const refs = new Map<string, CatalogRef>();
  const { archive } = options;
  const cache = new CatalogCache({
    load: async () => {
      const catalog = await executor.loadCatalog();
      if (!refs.has(catalog.version)) {
        // One version is one content (it is a digest of it), so a snapshot is made and archived once per version.
        const { ref, bytes } = catalogSnapshot(catalog);
        if (archive !== undefined) await archive.put(ref.version, bytes);
        refs.set(ref.version, ref);
      }
      return catalog;
    },
    ttlMs: options.catalogTtlMs ?? 60_000,
  });
  const maxEntries = options.cacheEntries ?? 10_000;
  const analyses = new Map<string, { catalog: Catalog; analyzed: AnalyzedStatement }>();
  return {
    // The cached catalog, so describing it costs no database work per request (the thirty-first outside attack:
    // uncached, `GET /v1/catalog` from tokens granted nothing filled the pool and locked granted callers out).
    catalog: () => cache.get(),
    async analyze(sql: string): Promise<AnalyzedStatement> {
      await loadSqlParser();
      const catalog = await cache.get();
      const seen = analyses.get(sql);
      if (seen !== undefined && seen.catalog === catalog) return seen.analyzed;
      const analysis = await analyzeSqlWithCache(sql, cache);
      const { start, end } = analysis.statement.location;
      const ref = refs.get(analysis.catalog.version);
      const analyzed: AnalyzedStatement = {
        classification: analysis.classification,
        statement: sql.slice(start, end),
        ...(ref === undefined ? {} : { catalog: ref }),
      };
      if (analyses.size >= maxEntries) {
        const oldest = analyses.keys().next();
        if (oldest.done !== true) analyses.delete(oldest.value);
      }
      analyses.set(sql, { catalog: analysis.catalog, analyzed });
      return analyzed;
    },
  };
}
