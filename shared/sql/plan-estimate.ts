// Reads the planner's estimate out of EXPLAIN (FORMAT JSON)'s one-cell answer, the same way for every executor.
import { QueryFailedError } from "#shared/errors.ts";

/** The figures of the plan's top node an executor may estimate by. */
export type PlanFigure = "Plan Rows" | "Total Cost";

/** The statement that asks the planner for its estimate (never ANALYZE: the statement is not run). */
export function explainSql(sql: string): string {
  return `EXPLAIN (FORMAT JSON) ${sql}`;
}

/**
 * The figure of the top plan node in EXPLAIN (FORMAT JSON)'s text; throws `query_failed` when the text is missing,
 * is not JSON, or carries no such number.
 */
export function planEstimate(text: string | null | undefined, figure: PlanFigure): number {
  let plan: unknown;
  try {
    plan = text === undefined || text === null ? undefined : JSON.parse(text);
  } catch (cause) {
    throw new QueryFailedError("query_failed", "the planner returned no estimate", { cause });
  }
  const value = Array.isArray(plan)
    ? (plan[0] as { Plan?: Record<string, unknown> } | undefined)?.Plan?.[figure]
    : undefined;
  if (typeof value !== "number")
    throw new QueryFailedError("query_failed", "the planner returned no estimate");
  return value;
}
