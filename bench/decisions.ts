// Benchmark of deciding a statement seen before (same text, policy and caller) from the decision cache, beside
// deciding it afresh (parse, classify, policy, masking plan, risk) in the same run.

import { pathToFileURL } from "node:url";
import { REPORT_QUERY } from "#bench/sql.ts";
import { principalFromClaims } from "#shared/identity/principal.ts";
import { loadPolicyFile } from "#shared/policy/load.ts";
import { systemClock } from "#shared/ports.ts";
import { DecisionCache, decideRequest } from "#shared/query/decide-request.ts";
import type { QueryRequest } from "#shared/sessions/new-record.ts";
import { CATALOG_SQL, catalogFromRows } from "#shared/sql/catalog.ts";
import { catalogFromDdl } from "#shared/sql/ddl-catalog.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import { createStatementAnalyzer } from "#shared/sql/statement-analyzer.ts";
import type { Catalog, CellValue } from "#shared/sql/types.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

/** The built-ins of an empty PGlite as the catalog reads them (the function rule admits calls by them). */
async function pgliteBuiltins(): Promise<Catalog["builtins"]> {
  const { PGlite } = await import("@electric-sql/pglite");
  const db = new PGlite();
  try {
    const result = await db.query<Record<string, CellValue>>(CATALOG_SQL, [], { rowMode: "array" });
    return catalogFromRows(result.rows as unknown as CellValue[][]).builtins;
  } finally {
    await db.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Decisions per second for a seen statement (cached) and for a new one each time (uncached), medians of 7 rounds. */
export async function benchDecisions(): Promise<{
  cachedPerSec: number;
  uncachedPerSec: number;
  ratio: number;
}> {
  await loadSqlParser();
  const catalog = { ...catalogFromDdl(EHR_SCHEMA_SQL), builtins: await pgliteBuiltins() };
  const policy = await loadPolicyFile("policy/demo.yaml");
  const principal = principalFromClaims(
    {
      iss: "https://token.actions.githubusercontent.com",
      sub: "repo:acme/ehr-reports:ref:refs/heads/main",
      aud: "phigate",
      exp: 0,
    },
    "groups",
  );
  const request: QueryRequest = { sql: REPORT_QUERY, params: [], purpose: "nightly report", dryRun: false };
  const base = {
    policy: { current: () => policy, context: { devIssuer: undefined } },
    executor: { estimateRows: async () => 100 } as never,
    clock: systemClock,
  };
  const cachedDeps = {
    ...base,
    analyzer: await createStatementAnalyzer({ loadCatalog: async () => catalog }),
    decisions: new DecisionCache(),
  };
  const uncachedAnalyzer = await createStatementAnalyzer(
    { loadCatalog: async () => catalog },
    { cacheEntries: 1 },
  );
  const uncachedDeps = { ...base, analyzer: uncachedAnalyzer };
  const first = await decideRequest(cachedDeps, principal, request);
  // Decided in full either way (grants, masking plan, risk rules): under the demo policy's Safe Harbor dates the
  // report's date predicates send it to approval.
  if (first.plan === undefined)
    throw new Error(`the report query should be allowed or sent to approval, got ${first.decision.outcome}`);
  const cached: number[] = [];
  const uncached: number[] = [];
  for (let round = 0; round < 7; round++) {
    let n = 0;
    let start = performance.now();
    while (performance.now() - start < 300) {
      for (let i = 0; i < 1_000; i++) await decideRequest(cachedDeps, principal, request);
      n += 1_000;
    }
    cached.push((n / (performance.now() - start)) * 1000);
    n = 0;
    start = performance.now();
    while (performance.now() - start < 300) {
      // A distinct text each time (a trailing comment) defeats both caches but parses to the same statement.
      await decideRequest(uncachedDeps, principal, { ...request, sql: `${REPORT_QUERY} -- ${round}:${n}` });
      n++;
    }
    uncached.push((n / (performance.now() - start)) * 1000);
  }
  const cachedPerSec = median(cached);
  const uncachedPerSec = median(uncached);
  return { cachedPerSec, uncachedPerSec, ratio: cachedPerSec / uncachedPerSec };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = await benchDecisions();
  console.log(
    `decisions of a seen statement: ${Math.round(r.cachedPerSec).toLocaleString("en-US")}/s cached vs ${Math.round(r.uncachedPerSec).toLocaleString("en-US")}/s decided afresh (${r.ratio.toFixed(0)}x; target >= 200,000/s cached)`,
  );
}
