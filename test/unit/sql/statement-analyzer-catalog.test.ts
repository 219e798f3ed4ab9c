// The analyzer's catalog is read once per TTL however often it is described: `GET /v1/catalog` from tokens the policy
// grants nothing filled the pool with catalog queries and locked granted callers out (the thirty-first outside attack).

import { expect, it } from "vitest";
import { createStatementAnalyzer } from "#shared/sql/statement-analyzer.ts";
import type { Catalog } from "#shared/sql/types.ts";

it("describes the cached catalog: many concurrent and later asks, one database read", async () => {
  let loads = 0;
  const catalog: Catalog = { version: "v1", searchPath: ["public"], relations: [] };
  const source = {
    loadCatalog: async (): Promise<Catalog> => {
      loads++;
      await new Promise((r) => setTimeout(r, 20));
      return catalog;
    },
  };
  const analyzer = await createStatementAnalyzer(source, { catalogTtlMs: 60_000 });
  const first = await Promise.all(Array.from({ length: 50 }, () => analyzer.catalog()));
  for (let i = 0; i < 50; i++) await analyzer.catalog();
  expect(new Set(first).size).toBe(1);
  expect(first[0]).toBe(catalog);
  expect(loads).toBe(1);
});
