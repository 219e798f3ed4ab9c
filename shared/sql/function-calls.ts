// Function calls in expressions: the call itself, aggregate ORDER BY / FILTER / WITHIN GROUP, window definitions, SQL/JSON aggregates.
import type { FuncCall, Node, WindowDef } from "@pgsql/types";
import { type Cx, expr, exprs, generic, readOnly } from "./expressions.ts";
import {
  AGGREGATE_FUNCTIONS,
  JSON_XML_FUNCTIONS,
  PATH_EVALUATOR_FUNCTIONS,
  SET_RETURNING_FUNCTIONS,
} from "./known-functions.ts";
import { CLAUSE_BITS, type Lineage, TRANSFORM_BITS as T, transformed } from "./lineage.ts";
import type { Scope } from "./scope.ts";
import { lastName, qualifier } from "./walk-state.ts";

/** The lineage of a function call (recording the function, and what its modifiers read). */
export function funcCall(call: FuncCall, cx: Cx): Lineage {
  const name = lastName(call.funcname);
  const schema = qualifier(call.funcname);
  const syntax = call.funcformat === "COERCE_SQL_SYNTAX";
  const user = cx.an.addFunction(syntax ? undefined : schema, name, syntax);
  const builtIn = !user && (schema === undefined || schema === "pg_catalog");
  const count = builtIn && name === "count" && !syntax;
  // An aggregate belongs to this level or (over outer columns only) to one around it: if any of them may repeat
  // rows, so may the rows it aggregates.
  if (builtIn && !syntax && AGGREGATE_FUNCTIONS.has(name) && repeatsAround(cx.scope))
    cx.an.repeatedAggregates.add(name);
  // count consumes its argument's nullness only: the argument is not read in the enclosing clause's sense.
  const args = exprs(call.args, count ? { an: cx.an, scope: cx.scope, clause: cx.clause, via: "" } : cx);
  // Set-returning: what the catalog marks `proretset` (every built-in the database has), or the hand-kept list
  // for catalogs read before analyzer 8 recorded it.
  const returnsSet =
    SET_RETURNING_FUNCTIONS.has(name) || (builtIn && cx.an.index.builtinReturnsSet(schema, name));
  if (returnsSet) {
    for (const arg of args) cx.an.record(arg, CLAUSE_BITS.limit, "srf_argument");
    // Rows made without a relation, wherever the call stands (`(SELECT generate_series(0, 8191) AS g) s` makes
    // candidates as `FROM generate_series(...)` does: the eighteenth outside attack).
    if (builtIn) cx.an.generatedRows.add("set_returning_function");
  }
  if (call.agg_within_group === true) {
    for (const node of sortNodes(call.agg_order)) args.push(expr(node, cx));
  } else if (call.agg_order !== undefined) {
    readOnly(sortNodes(call.agg_order), cx, CLAUSE_BITS.ordering, "aggregate_order_by");
  }
  if (call.agg_filter !== undefined) readOnly([call.agg_filter], cx, CLAUSE_BITS.predicate, "filter");
  // An aggregate that picks its own rows — a FILTER, or a count of a computed argument — can count any subset of
  // them; two hundred such counts in one row decoded nine hundred patients' sex (the twentieth outside attack).
  if (call.agg_filter !== undefined || (count && args.some((arg) => (arg.transforms & ~T.cast) !== 0)))
    cx.an.subsetAggregates++;
  if (call.over !== undefined) windowDef(call.over, cx);
  if (call.agg_distinct === true) for (const arg of args) cx.an.expose(arg, "aggregate_distinct");
  if (count) {
    // count(col) and count(*) reveal how many values are not null, never a value: the result carries nothing.
    for (const arg of args) cx.an.expose(arg, "count");
    return transformed([], T.aggregate);
  }
  const via = user ? `function:${schema === undefined ? "" : `${schema}.`}${name}` : `function:${name}`;
  for (const arg of args) cx.an.expose(arg, via);
  cx.an.conditionOperands(args);
  const aggregate =
    call.agg_star === true ||
    call.agg_distinct === true ||
    call.agg_order !== undefined ||
    call.agg_filter !== undefined ||
    call.agg_within_group === true ||
    AGGREGATE_FUNCTIONS.has(name) ||
    (user && userAggregate(schema, name, cx));
  if (aggregate && builtIn && !syntax && args.some((arg) => (arg.transforms & ~T.cast) !== 0))
    cx.an.computedAggregates.add(name);
  let bits = call.over !== undefined ? T.window : aggregate ? T.aggregate : 0;
  if (PATH_EVALUATOR_FUNCTIONS.has(name)) bits |= T.json_xml | T.function;
  else if (JSON_XML_FUNCTIONS.has(name)) bits |= T.json_xml;
  if (bits === 0) bits = T.function;
  return transformed(args, bits, user);
}

function repeatsAround(scope: Scope | undefined): boolean {
  for (let level = scope; level !== undefined; level = level.parent)
    if (level.repeats !== undefined) return true;
  return false;
}

function userAggregate(schema: string | undefined, name: string, cx: Cx): boolean {
  for (const routine of cx.an.index.userRoutines(schema, name, false)) {
    if (routine.kinds.includes("aggregate")) return true;
  }
  return false;
}

/** Walks a window definition's partitioning, ordering and frame offsets (clause `window`). */
export function windowDef(def: WindowDef, cx: Cx): void {
  readOnly(def.partitionClause, cx, CLAUSE_BITS.window, "window_partition");
  readOnly(sortNodes(def.orderClause), cx, CLAUSE_BITS.window, "window_order");
  readOnly([def.startOffset, def.endOffset], cx, CLAUSE_BITS.window, "window_frame");
}

/** The expressions of a list of `SortBy` nodes. */
export function sortNodes(nodes: readonly Node[] | undefined): (Node | undefined)[] {
  const out: (Node | undefined)[] = [];
  for (const node of nodes ?? []) out.push("SortBy" in node ? node.SortBy.node : node);
  return out;
}

/** The lineage of JSON_OBJECTAGG / JSON_ARRAYAGG. */
interface JsonAggregate {
  constructor?: { agg_filter?: Node; agg_order?: Node[]; over?: WindowDef };
  arg?: Node;
}

/** The lineage of JSON_OBJECTAGG / JSON_ARRAYAGG (with their FILTER, ORDER BY and OVER). */
export function jsonAggregate(tag: string, agg: JsonAggregate, cx: Cx): Lineage {
  cx.an.addFunction(undefined, tag === "JsonObjectAgg" ? "json_objectagg" : "json_arrayagg", true);
  const ctor = Object.hasOwn(agg, "constructor") ? agg.constructor : undefined;
  if (ctor?.agg_order !== undefined)
    readOnly(sortNodes(ctor.agg_order), cx, CLAUSE_BITS.ordering, "aggregate_order_by");
  if (ctor?.agg_filter !== undefined) readOnly([ctor.agg_filter], cx, CLAUSE_BITS.predicate, "filter");
  if (ctor?.over !== undefined) windowDef(ctor.over, cx);
  const bits = T.json_xml | (ctor?.over !== undefined ? T.window : T.aggregate);
  const name = tag === "JsonObjectAgg" ? "json_objectagg" : "json_arrayagg";
  return generic(agg.arg, cx, bits, `function:${name}`);
}
