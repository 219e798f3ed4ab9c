// Analyzes a query (SELECT, VALUES, set operation, or a DML statement's RETURNING): its clauses and output lineage.
import type { Node, SelectStmt } from "@pgsql/types";
import { type Cx, expr, exprs } from "./expressions.ts";
import { fromItem } from "./from-clause.ts";
import { sortNodes, windowDef } from "./function-calls.ts";
import { branches, CLAUSE_BITS, CONSTANT, type Lineage, type SourceRelation } from "./lineage.ts";
import { analyzeModify } from "./modify.ts";
import { outputName, UNKNOWN_NAME } from "./output-names.ts";
import { predicates } from "./predicates.ts";
import { findItems, wholeRowItem } from "./references.ts";
import { type CteScope, type FromEntry, markUsed, type RangeColumn, Scope } from "./scope.ts";
import { tiedFrom } from "./ties.ts";
import { ACCESS, type Analysis, EFFECT } from "./walk-state.ts";
import { analyzeWith, recordUnreferenced } from "./with-clause.ts";

/** Whether a set operation's branch is a SELECT without FROM (a row made of constants), or holds one. */
function constantBranch(branch: SelectStmt | undefined): boolean {
  if (branch === undefined) return false;
  if (branch.op !== undefined && branch.op !== "SETOP_NONE")
    return constantBranch(branch.larg) || constantBranch(branch.rarg);
  return branch.valuesLists === undefined && (branch.fromClause ?? []).length === 0;
}

/** Whether a GROUP BY item puts a row in more than one group (GROUPING SETS, CUBE, ROLLUP; not `()` alone). */
function groupsRowsTwice(node: Node): boolean {
  if (!("GroupingSet" in node)) return false;
  const kind = node.GroupingSet.kind;
  return kind !== "GROUPING_SET_EMPTY" && kind !== "GROUPING_SET_SIMPLE";
}

/** Why rows of a level whose FROM is only `node` may repeat, judged on the syntax (see {@link tableRepeats}). */
function repeatsOf(node: Node | undefined): string | undefined {
  if (node === undefined || "RangeVar" in node) return undefined;
  if ("JoinExpr" in node) return "a join";
  if ("RangeSubselect" in node) return "a subquery";
  if ("RangeFunction" in node) return "a function in FROM";
  return "a FROM item other than a table";
}

/** Why rows read through the one FROM item `entry` (a name) may repeat: it is not a table (a CTE, a view...). */
function tableRepeats(entry: FromEntry | undefined): string | undefined {
  const item = entry?.items.length === 1 ? entry.items[0] : undefined;
  const kind = item?.derived === false ? item.relation?.kind : undefined;
  if (kind === "table" || kind === "partitioned" || kind === "matview") return undefined;
  return kind === undefined ? "a CTE" : `a ${kind}`;
}

/** One output column of a query. */
export interface QueryOutput {
  readonly name: string;
  readonly lineage: Lineage;
}

/**
 * Analyzes a query node (`{SelectStmt}`, or a DML statement for its RETURNING list) nested in `parent`;
 * its output expressions are recorded in `targetClause` (0: deferred to whoever references them).
 */
export function analyzeQueryNode(
  node: Node | undefined,
  parent: Scope | undefined,
  an: Analysis,
  targetClause: number,
  ctes: CteScope | undefined = parent?.ctes,
): QueryOutput[] {
  if (node === undefined) return [];
  if ("SelectStmt" in node) return analyzeSelect(node.SelectStmt, parent, ctes, an, targetClause);
  return analyzeModify(node, parent, ctes, an, targetClause) ?? [];
}

/** Analyzes a SELECT (or VALUES, or set operation). */
export function analyzeSelect(
  stmt: SelectStmt,
  parent: Scope | undefined,
  outerCtes: CteScope | undefined,
  an: Analysis,
  targetClause: number,
): QueryOutput[] {
  an.selectDepth++;
  try {
    return analyzeSelectLevel(stmt, parent, outerCtes, an, targetClause);
  } finally {
    an.selectDepth--;
  }
}

function analyzeSelectLevel(
  stmt: SelectStmt,
  parent: Scope | undefined,
  outerCtes: CteScope | undefined,
  an: Analysis,
  targetClause: number,
): QueryOutput[] {
  const ctes =
    stmt.withClause === undefined ? outerCtes : analyzeWith(stmt.withClause, parent, outerCtes, an);
  if (stmt.intoClause?.rel !== undefined) {
    an.effect(EFFECT.write, "select_into");
    const rel = stmt.intoClause.rel;
    an.touchRelation(an.resolveRelation(rel.schemaname, rel.relname ?? ""), ACCESS.write);
  }
  let outputs: QueryOutput[];
  let scope: Scope;
  // What this level's rows are made from, and whether a row of it may stand for another's repeat (see below).
  let levelReads: ReadonlySet<SourceRelation> = new Set();
  let repeating = true;
  if (stmt.op !== undefined && stmt.op !== "SETOP_NONE") {
    // A union of SELECTs without FROM makes rows as VALUES does (the fourteenth outside attack's 2^k candidates).
    if (constantBranch(stmt.larg) || constantBranch(stmt.rarg)) an.generatedRows.add("set_operation");
    const except = stmt.op === "SETOP_EXCEPT";
    const rightClause = except ? CLAUSE_BITS.predicate : targetClause;
    const walked = an.readsDuring(() => ({
      left: stmt.larg === undefined ? [] : analyzeSelect(stmt.larg, parent, ctes, an, targetClause),
      right: stmt.rarg === undefined ? [] : analyzeSelect(stmt.rarg, parent, ctes, an, rightClause),
    }));
    const { left, right } = walked.result;
    levelReads = walked.reads;
    // EXCEPT keeps a row by whether no row of the other branch matches it (a negation over many rows, as NOT EXISTS
    // is), and INTERSECT ALL by how many do: the branches' rows decide. UNION and INTERSECT keep a value some row
    // of a branch has, as DISTINCT does.
    if (except || (stmt.op === "SETOP_INTERSECT" && stmt.all === true)) an.choose(walked.reads);
    outputs = except
      ? left
      : left.map((column, i) => ({
          name: column.name,
          lineage: branches([column.lineage, right[i]?.lineage ?? CONSTANT]),
        }));
    const op = `set_operation:${(stmt.op ?? "").replace(/^SETOP_/, "").toLowerCase()}${stmt.all === true ? "_all" : ""}`;
    if (stmt.op !== "SETOP_UNION" || stmt.all !== true) compared([...left, ...right], an, op);
    else for (const column of [...left, ...right]) an.expose(column.lineage, op);
    scope = outputScope(parent, ctes, outputs);
  } else if (stmt.valuesLists !== undefined) {
    if (stmt.valuesLists.length > 1) an.generatedRows.add("values");
    scope = new Scope(parent, ctes);
    outputs = valuesOutputs(stmt.valuesLists, { an, scope, clause: targetClause });
  } else {
    scope = new Scope(parent, ctes);
    const from = stmt.fromClause ?? [];
    scope.repeats = from.length > 1 ? "a join" : from.length === 1 ? repeatsOf(from[0]) : undefined;
    const { reads } = an.readsDuring(() => {
      for (const item of from) scope.entries.push(fromItem(item, scope, an));
    });
    if (from.length === 1 && scope.repeats === undefined) scope.repeats = tableRepeats(scope.entries[0]);
    levelReads = reads;
    repeating = !tiedFrom(from, scope, an);
    // GROUP BY over rows that are not one table's, each once (a join, a subquery, a CTE...) keeps a group by whether
    // all the rows joined to its key match (`GROUP BY c.id HAVING min(p.sex) = 'F' AND max(p.sex) = 'F'`), DISTINCT
    // ON by which of them sorts first: every relation read decides. (Plain DISTINCT keeps a value some row has: one
    // fact per candidate, as a join does.)
    const keyed = stmt.distinctClause?.some((node) => Object.keys(node).length > 0) === true;
    if (scope.repeats !== undefined && (keyed || stmt.groupClause !== undefined)) an.choose(reads);
    // GROUPING SETS, CUBE and ROLLUP put each row in several groups: HAVING then picks which set of rows comes back
    // (`GROUP BY CUBE(k0, ..., k11) HAVING max(p.sex) = 'F'` over twelve patients, the sixteenth outside attack).
    if (stmt.groupClause?.some(groupsRowsTwice) === true) an.choose(reads);
    for (const window of stmt.windowClause ?? []) {
      if ("WindowDef" in window) windowDef(window.WindowDef, { an, scope, clause: 0 });
    }
    if (stmt.whereClause !== undefined)
      predicates(stmt.whereClause, { an, scope, clause: CLAUSE_BITS.predicate }, true);
    outputs = targetList(stmt.targetList ?? [], { an, scope, clause: targetClause });
    if (stmt.groupClause !== undefined) {
      groupItems(stmt.groupClause, outputs, { an, scope, clause: CLAUSE_BITS.grouping });
    }
    if (stmt.havingClause !== undefined) expr(stmt.havingClause, { an, scope, clause: CLAUSE_BITS.having });
    if (stmt.distinctClause !== undefined) {
      distinctOn(stmt.distinctClause, outputs, {
        an,
        scope,
        clause: CLAUSE_BITS.grouping,
        via: "distinct_on",
      });
      if (stmt.distinctClause.every((node) => Object.keys(node).length === 0))
        compared(outputs, an, "distinct");
    }
  }
  if (stmt.sortClause !== undefined)
    sortItems(sortNodes(stmt.sortClause), outputs, { an, scope, clause: CLAUSE_BITS.ordering });
  if (stmt.limitCount !== undefined || stmt.limitOffset !== undefined) {
    const cx: Cx = { an, scope, clause: CLAUSE_BITS.limit };
    expr(stmt.limitCount, cx);
    expr(stmt.limitOffset, cx);
    // A position among rows that may repeat counts them: each patient's row joined to `r <= CASE WHEN p.sex = 'F'
    // THEN 0 ... power(3, p.id - s)` generated rows, then `OFFSET 3^k LIMIT 1`, lands on a marker row whose id is
    // the patients' facts written in base 3 (the seventeenth outside attack). OFFSET anywhere, and LIMIT below the
    // statement's own (whose rows are all returned and counted), choose among the level's rows unless they repeat
    // only through joins tied by unique keys (a patient's encounters, paged: `shared/sql/ties.ts`).
    const positioned = stmt.limitOffset !== undefined || an.selectDepth > 1;
    if (positioned && repeating) an.choose(levelReads);
  }
  if ((stmt.lockingClause ?? []).length > 0) lockRows(stmt, scope, an);
  recordUnused(scope, an);
  if (ctes !== outerCtes) recordUnreferenced(ctes, outerCtes, an);
  return outputs;
}

/**
 * Records outputs whose values are compared with each other to decide which rows come out (plain DISTINCT,
 * UNION, INTERSECT, EXCEPT): like GROUP BY, the row count then tells which values are equal.
 */
function compared(outputs: readonly QueryOutput[], an: Analysis, via: string): void {
  for (const output of outputs) an.record(output.lineage, CLAUSE_BITS.grouping, via);
}

function outputScope(parent: Scope | undefined, ctes: CteScope | undefined, outputs: QueryOutput[]): Scope {
  const scope = new Scope(parent, ctes);
  const columns: RangeColumn[] = outputs.map((o) => ({ name: o.name, lineage: o.lineage, used: true }));
  scope.entries.push({ items: [], columns, open: undefined });
  return scope;
}

function valuesOutputs(rows: readonly Node[], cx: Cx): QueryOutput[] {
  const perColumn: Lineage[][] = [];
  for (const row of rows) {
    const items = "List" in row ? (row.List.items ?? []) : [row];
    // A star in a VALUES row expands into columns PostgreSQL counts and this analysis does not.
    if (items.some(isStarForm)) cx.an.outputsComplete = false;
    exprs(items, cx).forEach((lineage, i) => {
      const column = perColumn[i] ?? [];
      column.push(lineage);
      perColumn[i] = column;
      // Rows of one column merge into one output, as a set operation's branches do.
      if (rows.length > 1) cx.an.expose(lineage, "values");
    });
  }
  return perColumn.map((parts, i) => ({ name: `column${i + 1}`, lineage: branches(parts) }));
}

/** The outputs of a select list (or RETURNING list), `*` expanded, read in `cx.clause`. */
export function targetList(targets: readonly Node[], cx: Cx): QueryOutput[] {
  const outputs: QueryOutput[] = [];
  for (const target of targets) {
    if (!("ResTarget" in target)) continue;
    const { name, val } = target.ResTarget;
    const fields = val !== undefined && "ColumnRef" in val ? (val.ColumnRef.fields ?? []) : [];
    const last = fields[fields.length - 1];
    if (last !== undefined && "A_Star" in last) {
      expandStar(fields.slice(0, -1), cx, outputs);
      continue;
    }
    if (val !== undefined && "A_Indirection" in val && endsInStar(val.A_Indirection.indirection)) {
      expandFieldStar(val.A_Indirection.arg, val.A_Indirection.indirection ?? [], cx, outputs);
      continue;
    }
    const lineage = expr(val, cx);
    outputs.push({ name: name ?? outputName(val), lineage });
  }
  return outputs;
}

function endsInStar(steps: readonly Node[] | undefined): boolean {
  const last = steps?.[steps.length - 1];
  return last !== undefined && "A_Star" in last;
}

/**
 * `(x).*`: PostgreSQL expands it into one output per field of x. A whole row of an item of known shape expands
 * to its columns; any other composite has a number of fields this analysis does not know, so the positions of
 * every later output are unknown and the outputs are incomplete (the statement is refused).
 */
function expandFieldStar(
  arg: Node | undefined,
  steps: readonly Node[],
  cx: Cx,
  outputs: QueryOutput[],
): void {
  const item = steps.length === 1 ? wholeRowItem(arg, cx) : undefined;
  if (item === undefined || item.open !== undefined) {
    cx.an.outputsComplete = false;
    outputs.push({ name: "?column?", lineage: expr(arg, cx) });
    return;
  }
  for (const column of item.columns) {
    markUsed(column);
    cx.an.record(column.lineage, cx.clause, cx.via);
    outputs.push({ name: column.name, lineage: column.lineage });
  }
}

/** Whether a VALUES item is a `*` PostgreSQL expands into several columns there. */
function isStarForm(node: Node): boolean {
  if ("ColumnRef" in node) return endsInStar(node.ColumnRef.fields);
  return "A_Indirection" in node && endsInStar(node.A_Indirection.indirection);
}

function expandStar(qualifier: readonly Node[], cx: Cx, outputs: QueryOutput[]): void {
  const names: string[] = [];
  for (const node of qualifier) if ("String" in node) names.push(node.String.sval ?? "");
  let columns: readonly RangeColumn[] = [];
  let open = false;
  if (names.length === 0) {
    const all: RangeColumn[] = [];
    for (const entry of cx.scope.entries) {
      all.push(...entry.columns);
      open ||= entry.open !== undefined;
    }
    columns = all;
  } else {
    const items = findItems(names, cx.scope);
    if (items.length === 0) cx.an.unresolved.add(`${names.join(".")}.*`);
    const item = items[0];
    if (item !== undefined) {
      columns = item.columns;
      open = item.open !== undefined;
    }
  }
  if (open) cx.an.outputsComplete = false;
  for (const column of columns) {
    markUsed(column);
    cx.an.record(column.lineage, cx.clause, cx.via);
    outputs.push({ name: column.name, lineage: column.lineage });
  }
}

/** The output a `GROUP BY` / `ORDER BY` item names by position or output name, when it does. */
function outputReference(node: Node | undefined, outputs: QueryOutput[], preferOutput: boolean, cx: Cx) {
  if (node === undefined) return undefined;
  if ("A_Const" in node && node.A_Const.ival !== undefined) return outputs[(node.A_Const.ival.ival ?? 0) - 1];
  if ("ColumnRef" in node) {
    const fields = node.ColumnRef.fields ?? [];
    const only = fields[0];
    if (fields.length !== 1 || only === undefined || !("String" in only)) return undefined;
    const name = only.String.sval ?? "";
    const matches = outputs.filter((o) => o.name === name);
    const input = cx.scope.entries.some((e) => e.columns.some((c) => c.name === name));
    if (matches.length === 0) {
      // An output whose name this analysis does not know may be the one PostgreSQL binds the name to.
      if ((preferOutput || !input) && outputs.some((o) => o.name === UNKNOWN_NAME))
        cx.an.unresolved.add(name);
      return undefined;
    }
    if (!preferOutput && input) return undefined;
    return { name, lineage: branches(matches.map((m) => m.lineage)) };
  }
  return undefined;
}

function distinctOn(nodes: readonly Node[], outputs: QueryOutput[], cx: Cx): void {
  const items: Node[] = [];
  for (const node of nodes) {
    let empty = true;
    for (const _ in node) empty = false;
    if (!empty) items.push(node);
  }
  sortItems(items, outputs, cx);
}

function sortItems(nodes: readonly (Node | undefined)[], outputs: QueryOutput[], cx: Cx): void {
  for (const node of nodes) {
    const output = outputReference(node, outputs, true, cx);
    if (output !== undefined) cx.an.record(output.lineage, cx.clause, cx.via);
    else if (!expr(node, cx).copy) cx.an.orderingKeys++;
  }
}

function groupItems(nodes: readonly Node[] | undefined, outputs: QueryOutput[], cx: Cx): void {
  for (const node of nodes ?? []) {
    if ("GroupingSet" in node) {
      groupItems(node.GroupingSet.content, outputs, cx);
      continue;
    }
    if ("RowExpr" in node) {
      groupItems(node.RowExpr.args, outputs, cx);
      continue;
    }
    const output = outputReference(node, outputs, false, cx);
    if (output !== undefined) cx.an.record(output.lineage, cx.clause, cx.via);
    else expr(node, cx);
  }
}

function lockRows(stmt: SelectStmt, scope: Scope, an: Analysis): void {
  an.effect(EFFECT.lock, "locking_clause");
  for (const clause of stmt.lockingClause ?? []) {
    if (!("LockingClause" in clause)) continue;
    const rels = clause.LockingClause.lockedRels ?? [];
    const items =
      rels.length === 0
        ? scope.entries.flatMap((entry) => entry.items)
        : rels.flatMap((rel) => ("RangeVar" in rel ? findItems([rel.RangeVar.relname ?? ""], scope) : []));
    for (const item of items) if (item.relation !== undefined) an.touchRelation(item.relation, ACCESS.lock);
  }
}

/** Records the derived columns nobody referenced as read in `other` (they may still be computed). */
export function recordUnused(scope: Scope, an: Analysis): void {
  for (const entry of scope.entries) recordUnusedEntry(entry, an);
}

function recordUnusedEntry(entry: FromEntry, an: Analysis): void {
  for (const item of entry.items) {
    if (!item.derived) continue;
    for (const column of item.columns) if (!column.used) an.record(column.lineage, CLAUSE_BITS.other);
    if (item.open !== undefined) an.record(item.open, CLAUSE_BITS.other);
  }
}
