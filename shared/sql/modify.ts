// INSERT, UPDATE, DELETE and MERGE: the target and source relations, what they read, and their RETURNING lineage.
import type { Node, RangeVar, ReturningClause } from "@pgsql/types";
import { type Cx, expr, readOnly } from "./expressions.ts";
import { fromItem } from "./from-clause.ts";
import { branches, CLAUSE_BITS, CONSTANT, type Lineage, transformed } from "./lineage.ts";
import { type CteScope, makeItem, type NsItem, type RangeColumn, rangeColumns, Scope } from "./scope.ts";
import { analyzeQueryNode, type QueryOutput, recordUnused, targetList } from "./select.ts";
import { ACCESS, type Analysis, EFFECT } from "./walk-state.ts";
import { analyzeWith } from "./with-clause.ts";

/** Values a statement assigns to target columns, by column name. */
type Assignments = Map<string, Lineage[]>;

function assign(assignments: Assignments, column: string, lineage: Lineage): void {
  const list = assignments.get(column);
  if (list === undefined) assignments.set(column, [lineage]);
  else list.push(lineage);
}

function targetItem(rv: RangeVar | undefined, an: Analysis): NsItem {
  const relation = an.resolveRelation(rv?.schemaname, rv?.relname ?? "");
  an.touchRelation(relation, ACCESS.write);
  const columns = rangeColumns(relation.columns.map((c) => ({ name: c.column, lineage: c.lineage })));
  const open = relation.kind === "unknown" ? { open: CONSTANT } : {};
  return makeItem(rv?.alias?.aliasname ?? rv?.relname, columns, { relation, ...open });
}

/**
 * The target as RETURNING (or `excluded`) sees it after the statement: each column carries its old value and
 * every value assigned to it, so `INSERT ... SELECT ssn ... RETURNING col` lists `patients.ssn`.
 */
function assignedItem(target: NsItem, name: string | undefined, assignments: Assignments): NsItem {
  const all: Lineage[] = [];
  const columns: RangeColumn[] = target.columns.map((column) => {
    const values = assignments.get(column.name);
    if (values === undefined) return { name: column.name, lineage: column.lineage, used: false };
    all.push(...values);
    return { name: column.name, lineage: branches([column.lineage, ...values]), used: false };
  });
  const unknown = target.relation?.kind === "unknown";
  for (const [column, values] of assignments) {
    if (unknown && !columns.some((c) => c.name === column)) {
      columns.push({ name: column, lineage: branches(values), used: false });
      all.push(...values);
    }
  }
  return makeItem(name, columns, {
    ...(target.relation ? { relation: target.relation } : {}),
    ...(target.open ? { open: target.open } : {}),
    ...(all.length > 0 ? { extra: transformed(all, 0) } : {}),
  });
}

function returning(
  clause: ReturningClause | undefined,
  target: NsItem,
  assignments: Assignments,
  scope: Scope,
  an: Analysis,
  targetClause: number,
): QueryOutput[] {
  if (clause === undefined) return [];
  let oldName = "old";
  let newName = "new";
  for (const option of clause.options ?? []) {
    if (!("ReturningOption" in option)) continue;
    if (option.ReturningOption.option === "RETURNING_OPTION_OLD")
      oldName = option.ReturningOption.value ?? oldName;
    else newName = option.ReturningOption.value ?? newName;
  }
  const inner = new Scope(scope.parent, scope.ctes);
  const after = assignedItem(target, target.name, assignments);
  for (const entry of scope.entries) {
    if (entry.items[0] === target)
      inner.entries.push({ items: [after], columns: after.columns, open: after.open });
    else inner.entries.push(entry);
  }
  const old = makeItem(oldName, target.columns, {
    ...(target.relation ? { relation: target.relation } : {}),
    ...(target.open ? { open: target.open } : {}),
  });
  const next = assignedItem(target, newName, assignments);
  inner.entries.push({ items: [old, next], columns: [], open: undefined });
  return targetList(clause.exprs ?? [], { an, scope: inner, clause: targetClause });
}

function setList(targets: readonly Node[] | undefined, cx: Cx, assignments: Assignments): void {
  for (const target of targets ?? []) {
    if (!("ResTarget" in target)) continue;
    const lineage = expr(target.ResTarget.val, cx);
    if (target.ResTarget.name !== undefined) assign(assignments, target.ResTarget.name, lineage);
  }
}

function insertColumns(cols: readonly Node[] | undefined, target: NsItem): string[] {
  const names: string[] = [];
  for (const col of cols ?? []) if ("ResTarget" in col) names.push(col.ResTarget.name ?? "");
  return names.length > 0 ? names : target.columns.map((c) => c.name);
}

function analyzeInsert(
  node: Node,
  parent: Scope | undefined,
  outerCtes: CteScope | undefined,
  an: Analysis,
  clause: number,
) {
  if (!("InsertStmt" in node)) return undefined;
  const s = node.InsertStmt;
  an.effect(EFFECT.write, "insert");
  const ctes = s.withClause === undefined ? outerCtes : analyzeWith(s.withClause, parent, outerCtes, an);
  const values =
    s.selectStmt === undefined ? [] : analyzeQueryNode(s.selectStmt, parent, an, CLAUSE_BITS.other, ctes);
  const scope = new Scope(parent, ctes);
  const target = targetItem(s.relation, an);
  scope.entries.push({ items: [target], columns: target.columns, open: target.open });
  const assignments: Assignments = new Map();
  insertColumns(s.cols, target).forEach((name, i) => {
    const value = values[i];
    if (value !== undefined) assign(assignments, name, value.lineage);
  });
  const conflict = s.onConflictClause;
  if (conflict !== undefined) {
    const excluded = assignedItem(target, "excluded", assignments);
    const onScope = new Scope(parent, ctes);
    onScope.entries.push(...scope.entries, { items: [excluded], columns: [], open: undefined });
    const cx: Cx = { an, scope: onScope, clause: CLAUSE_BITS.other };
    setList(conflict.targetList, cx, assignments);
    readOnly([conflict.whereClause, conflict.infer?.whereClause], cx, CLAUSE_BITS.predicate);
  }
  return returning(s.returningClause, target, assignments, scope, an, clause);
}

/**
 * Analyzes a DML statement nested in `parent` (undefined at top level); returns its RETURNING outputs, or
 * undefined when `node` is not INSERT, UPDATE, DELETE or MERGE.
 */
export function analyzeModify(
  node: Node,
  parent: Scope | undefined,
  outerCtes: CteScope | undefined,
  an: Analysis,
  targetClause: number,
): QueryOutput[] | undefined {
  if ("InsertStmt" in node) return analyzeInsert(node, parent, outerCtes, an, targetClause);
  if ("UpdateStmt" in node || "DeleteStmt" in node) {
    const s = "UpdateStmt" in node ? node.UpdateStmt : node.DeleteStmt;
    an.effect(EFFECT.write, "UpdateStmt" in node ? "update" : "delete");
    const ctes = s.withClause === undefined ? outerCtes : analyzeWith(s.withClause, parent, outerCtes, an);
    const scope = new Scope(parent, ctes);
    const target = targetItem(s.relation, an);
    scope.entries.push({ items: [target], columns: target.columns, open: target.open });
    const from = "UpdateStmt" in node ? node.UpdateStmt.fromClause : node.DeleteStmt.usingClause;
    for (const item of from ?? []) scope.entries.push(fromItem(item, scope, an));
    const cx: Cx = { an, scope, clause: CLAUSE_BITS.other };
    const assignments: Assignments = new Map();
    if ("UpdateStmt" in node) setList(node.UpdateStmt.targetList, cx, assignments);
    readOnly([s.whereClause], cx, CLAUSE_BITS.predicate);
    const outputs = returning(s.returningClause, target, assignments, scope, an, targetClause);
    recordUnused(scope, an);
    return outputs;
  }
  if ("MergeStmt" in node) {
    const s = node.MergeStmt;
    an.effect(EFFECT.write, "merge");
    const ctes = s.withClause === undefined ? outerCtes : analyzeWith(s.withClause, parent, outerCtes, an);
    const scope = new Scope(parent, ctes);
    const target = targetItem(s.relation, an);
    scope.entries.push({ items: [target], columns: target.columns, open: target.open });
    if (s.sourceRelation !== undefined) scope.entries.push(fromItem(s.sourceRelation, scope, an));
    const cx: Cx = { an, scope, clause: CLAUSE_BITS.other };
    readOnly([s.joinCondition], cx, CLAUSE_BITS.join);
    const assignments: Assignments = new Map();
    for (const when of s.mergeWhenClauses ?? []) {
      if (!("MergeWhenClause" in when)) continue;
      const w = when.MergeWhenClause;
      readOnly([w.condition], cx, CLAUSE_BITS.predicate);
      if (w.commandType === "CMD_INSERT") {
        const names = insertColumns(w.targetList, target);
        (w.values ?? []).forEach((value, i) => {
          const lineage = expr(value, cx);
          const name = names[i];
          if (name !== undefined) assign(assignments, name, lineage);
        });
      } else setList(w.targetList, cx, assignments);
    }
    const outputs = returning(s.returningClause, target, assignments, scope, an, targetClause);
    recordUnused(scope, an);
    return outputs;
  }
  return undefined;
}
