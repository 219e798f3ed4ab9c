// The generator's validity rate: the share of statements world A's database runs without an SQL error (no gateway).

import type { SqlExecutor, SqlParam } from "#shared/ports.ts";
import type { Statement } from "./runner.ts";

/** How many statements ran, and the most frequent errors (by message without quoted values). */
export interface Validity {
  readonly valid: number;
  readonly total: number;
  readonly errors: readonly string[];
}

/** Runs each statement read-only straight on the database (the gateway's executor, no policy) and counts failures. */
export async function validityRate(
  executor: SqlExecutor,
  statements: readonly Statement[],
): Promise<Validity> {
  let valid = 0;
  const errors = new Map<string, number>();
  for (const statement of statements) {
    try {
      await executor.execute(
        {
          sql: statement.sql,
          params: (statement.params ?? []) as SqlParam[],
          timeoutMs: 10_000,
          maxRows: 1_000,
          pageSize: 1_000,
        },
        { columns: () => undefined, rows: () => undefined },
      );
      valid += 1;
    } catch (error) {
      const message = String((error as Error).message).replace(/"[^"]*"/g, '"…"');
      errors.set(message, (errors.get(message) ?? 0) + 1);
    }
  }
  const top = [...errors]
    .sort((x, y) => y[1] - x[1])
    .slice(0, 8)
    .map(([m, n]) => `${n} × ${m}`);
  return { valid, total: statements.length, errors: top };
}
