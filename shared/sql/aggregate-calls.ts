// Counts the aggregate calls of a parse tree, and how many of them the result's cells and sort keys hold one each.

import type { Node } from "@pgsql/types";
import { AGGREGATE_FUNCTIONS } from "./known-functions.ts";

/** Whether a `FuncCall` node's fields make it an aggregate call (its name, or aggregate-only syntax). */
function isAggregateCall(call: Record<string, unknown>): boolean {
  if (
    call.agg_star === true ||
    call.agg_distinct === true ||
    call.agg_within_group === true ||
    call.agg_filter !== undefined ||
    call.agg_order !== undefined
  )
    return true;
  const names = Array.isArray(call.funcname) ? (call.funcname as Node[]) : [];
  const last = names.at(-1) as { String?: { sval?: string } } | undefined;
  return AGGREGATE_FUNCTIONS.has(last?.String?.sval ?? "");
}

/** The aggregate calls anywhere below `value` (a parse tree node, list or field). */
function countCalls(value: unknown): number {
  if (Array.isArray(value)) {
    let n = 0;
    for (const item of value) n += countCalls(item);
    return n;
  }
  if (value === null || typeof value !== "object") return 0;
  let n = 0;
  for (const [key, field] of Object.entries(value)) {
    if (key === "FuncCall" && field !== null && typeof field === "object" && isAggregateCall(field as never))
      n += 1;
    n += countCalls(field);
  }
  return n;
}

/**
 * How many aggregate calls the statement makes beyond one per result cell or ORDER BY key of its top level that
 * holds any: each call is a value of its own (a group's count, a max), and a cell combining several (`CASE WHEN
 * count(*) FILTER (WHERE ...) > 0 THEN 'F' END || CASE WHEN count(*) ...` — the twelfth outside attack put 600
 * in one cell) carries each of them. Calls in HAVING, WHERE, subqueries elsewhere count in full.
 */
export function packedAggregateCalls(statement: Node): number {
  const total = countCalls(statement);
  if (total === 0) return 0;
  const select = "SelectStmt" in statement ? statement.SelectStmt : undefined;
  let holding = 0;
  if (select !== undefined && (select.op === undefined || select.op === "SETOP_NONE")) {
    for (const target of select.targetList ?? [])
      if (countCalls("ResTarget" in target ? target.ResTarget.val : target) > 0) holding += 1;
    for (const sort of select.sortClause ?? [])
      if (countCalls("SortBy" in sort ? sort.SortBy.node : sort) > 0) holding += 1;
  }
  return Math.max(0, total - holding);
}
