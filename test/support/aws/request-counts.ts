// Requests per query by service and operation, as the endpoint counted them: the input of a cost model.

import type { CallRecord } from "./endpoint.ts";

/** One measured step of the story. */
export interface QueryCount {
  readonly name: string;
  readonly calls: readonly CallRecord[];
  /** Step Functions state transitions (priced per transition on standard workflows). */
  readonly transitions?: number;
}

/** Requests by service (`rds-data`, `dynamodb`, `s3`, …). */
export function countsByService(calls: readonly CallRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const call of calls) out[call.service] = (out[call.service] ?? 0) + 1;
  return out;
}

/** Requests by service and operation (`dynamodb:TransactWriteItems`, …). */
export function countsByOperation(calls: readonly CallRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const call of calls) {
    const key = `${call.service}:${call.operation}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Prints the table the run closes with. */
export function printCosts(rows: readonly (QueryCount & { byService: Record<string, number> })[]): void {
  const lines = rows.map((row) => {
    const services = Object.entries(row.byService)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, n]) => `${s}=${n}`)
      .join(" ");
    const ops = Object.entries(countsByOperation(row.calls))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, n]) => `${s}=${n}`)
      .join(" ");
    const transitions = row.transitions === undefined ? "" : ` states:transitions=${row.transitions}`;
    return `  ${row.name}: ${services}${transitions}\n      ${ops}`;
  });
  console.log(`[aws-e2e] requests per query by service\n${lines.join("\n")}`);
}
