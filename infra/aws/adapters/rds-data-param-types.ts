// The types PostgreSQL infers for a statement's `$n` parameters, asked through the Data API (PREPARE, then the
// prepared statement's `parameter_types`), so string values can be cast to them as the local host binds them.

import type { ExecuteStatementCommandOutput } from "@aws-sdk/client-rds-data";
import type { SqlParam } from "#shared/ports.ts";

/** The prepared statement's name (one per transaction: it is deallocated before the statement runs). */
const PROBE = "phigate_param_probe";

/** Whether a statement needs its parameter types: only string values arrive with the wrong type (VARCHAR). */
export function needsParameterTypes(params: readonly SqlParam[]): boolean {
  return params.some((p) => typeof p === "string");
}

function typeNames(output: ExecuteStatementCommandOutput): (string | undefined)[] {
  const field = output.records?.[0]?.[0];
  const listed = field?.arrayValue?.stringValues;
  if (listed !== undefined) return listed.map((t) => t ?? undefined);
  const text = field?.stringValue;
  if (text === undefined || !text.startsWith("{")) return [];
  return text
    .slice(1, -1)
    .split(",")
    .map((t) => t.replace(/^"|"$/g, "") || undefined);
}

/**
 * Prepares the statement (with its `$n` placeholders) in the open transaction, reads the parameter types PostgreSQL
 * inferred, and deallocates it. `run` executes one SQL text in the transaction.
 */
export async function inferParameterTypes(
  run: (sql: string) => Promise<ExecuteStatementCommandOutput>,
  sql: string,
): Promise<(string | undefined)[]> {
  await run(`PREPARE ${PROBE} AS ${sql}`);
  const types = typeNames(
    await run(`SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = '${PROBE}'`),
  );
  await run(`DEALLOCATE ${PROBE}`);
  return types;
}
