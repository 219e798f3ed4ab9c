// INSERT, UPDATE, DELETE and MERGE: the target and source relations, what they read, and their RETURNING lineage.
import type { Node, RangeVar, ReturningClause } from "@pgsql/types";
import { ACCESS, type Analysis, EFFECT } from "./analysis.ts";
import { type Cx, expr, readOnly } from "./expressions.ts";
import { fromItem } from "./from-clause.ts";
import { CLAUSE_BITS, CONSTANT } from "./lineage.ts";
import { type CteScope, makeItem, type NsItem, rangeColumns, Scope } from "./scope.ts";
import { analyzeQueryNode, type QueryOutput, recordUnused, targetList } from "./select.ts";
import { analyzeWith } from "./with-clause.ts";

function targetItem(rv: RangeVar | undefined, an: Analysis, name?: string): NsItem {
  const relation = an.resolveRelation(rv?.schemaname, rv?.relname ?? "");
  an.touchRelation(relation, ACCESS.write);
  const columns = rangeColumns(relation.columns.map((c) => ({ name: c.column, lineage: c.lineage })));
  const open = relation.kind === "unknown" ? { open: CONSTANT } : {};
  return makeItem(name ?? rv?.alias?.aliasname ?? rv?.relname, columns, { relation, ...open });
}

function returning(
  clause: ReturningClause | undefined,
  target: NsItem,
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
  inner.entries.push(...scope.entries);
  const extra = [oldName, newName].map((name) =>
    makeItem(name, target.columns, {
      relation: target.relation,
      ...(target.open ? { open: target.open } : {}),
    }),
  );
  inner.entries.push({ items: extra, columns: [], open: undefined });
  return targetList(clause.exprs ?? [], { an, scope: inner, clause: targetClause });
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
  if ("InsertStmt" in node) {
    const s = node.InsertStmt;
    an.effect(EFFECT.write, "insert");
    const ctes = s.withClause === undefined ? outerCtes : analyzeWith(s.withClause, parent, outerCtes, an);
    if (s.selectStmt !== undefined) analyzeQueryNode(s.selectStmt, parent, an, CLAUSE_BITS.other, ctes);
    const scope = new Scope(parent, ctes);
    const target = targetItem(s.relation, an);
    scope.entries.push({ items: [target], columns: target.columns, open: target.open });
    const conflict = s.onConflictClause;
    if (conflict !== undefined) {
      const excluded = makeItem("excluded", target.columns, { relation: target.relation });
      const onScope = new Scope(parent, ctes);
      onScope.entries.push(...scope.entries, { items: [excluded], columns: [], open: undefined });
      const cx: Cx = { an, scope: onScope, clause: CLAUSE_BITS.other };
      for (const t of conflict.targetList ?? []) expr(t, cx);
      readOnly([conflict.whereClause, conflict.infer?.whereClause], cx, CLAUSE_BITS.predicate);
    }
    return returning(s.returningClause, target, scope, an, targetClause);
  }
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
    if ("UpdateStmt" in node) for (const t of node.UpdateStmt.targetList ?? []) expr(t, cx);
    readOnly([s.whereClause], cx, CLAUSE_BITS.predicate);
    const outputs = returning(s.returningClause, target, scope, an, targetClause);
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
    for (const when of s.mergeWhenClauses ?? []) {
      if (!("MergeWhenClause" in when)) continue;
      readOnly([when.MergeWhenClause.condition], cx, CLAUSE_BITS.predicate);
      for (const t of when.MergeWhenClause.targetList ?? []) expr(t, cx);
      for (const v of when.MergeWhenClause.values ?? []) expr(v, cx);
    }
    const outputs = returning(s.returningClause, target, scope, an, targetClause);
    recordUnused(scope, an);
    return outputs;
  }
  return undefined;
}
