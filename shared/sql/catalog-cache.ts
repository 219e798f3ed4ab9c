// A catalog cache with a TTL, single-flight loading, and an immediate (rate-limited) refresh when a statement names something unknown.
import type { Catalog } from "./types.ts";

/** How the cache loads and ages the catalog. */
export interface CatalogCacheOptions {
  /** Loads a fresh catalog (e.g. runs `CATALOG_SQL` and `catalogFromRows`). */
  readonly load: () => Promise<Catalog>;
  /** How long a catalog is used before it is reloaded; default 60 s. */
  readonly ttlMs?: number;
  /** The shortest interval between two refreshes asked for by {@link CatalogCache.refreshIfStale}; default 1 s. */
  readonly minRefreshIntervalMs?: number;
  /** The clock, in milliseconds. */
  readonly now?: () => number;
}

/**
 * Holds the current catalog. Concurrent callers share one load; a failed load is not cached (the next call
 * tries again) and fails the callers — there is no stale fallback, so a statement is never classified
 * against a catalog older than the TTL.
 */
export class CatalogCache {
  private readonly load: () => Promise<Catalog>;
  private readonly ttlMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly now: () => number;
  private current: { catalog: Catalog; loadedAt: number } | undefined;
  private inflight: Promise<Catalog> | undefined;

  constructor(options: CatalogCacheOptions) {
    this.load = options.load;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** The cached catalog, loaded first when there is none or it is older than the TTL. */
  get(): Promise<Catalog> {
    const current = this.current;
    if (current !== undefined && this.now() - current.loadedAt < this.ttlMs)
      return Promise.resolve(current.catalog);
    return this.refresh();
  }

  /** Loads a fresh catalog now (joining a load already in flight). */
  refresh(): Promise<Catalog> {
    if (this.inflight !== undefined) return this.inflight;
    const started = this.now();
    const inflight = this.load().then(
      (catalog) => {
        this.current = { catalog, loadedAt: started };
        this.inflight = undefined;
        return catalog;
      },
      (error: unknown) => {
        this.inflight = undefined;
        throw error;
      },
    );
    this.inflight = inflight;
    return inflight;
  }

  /**
   * Called when `catalog` lacks something a statement names (a relation or column): reloads unless the cached
   * catalog is newer than `catalog` or was loaded less than `minRefreshIntervalMs` ago (so unknown names cannot
   * make every request reload). Resolves to the catalog to classify with (possibly `catalog` itself).
   */
  refreshIfStale(catalog: Catalog): Promise<Catalog> {
    const current = this.current;
    if (current !== undefined && current.catalog !== catalog) return Promise.resolve(current.catalog);
    if (current !== undefined && this.now() - current.loadedAt < this.minRefreshIntervalMs) {
      return this.inflight ?? Promise.resolve(current.catalog);
    }
    return this.refresh();
  }

  /** Forgets the cached catalog (the next `get` loads). */
  invalidate(): void {
    this.current = undefined;
  }
}
