// WITH: analyzes every CTE before the query that owns it, iterating recursive ones to a fixed point.
import type { CommonTableExpr, Node, SelectStmt, WithClause } from "@pgsql/types";
import { type Analysis, EFFECT, stringList } from "./analysis.ts";
import {
  branches,
  CLAUSE_BITS,
  CONSTANT,
  type Lineage,
  sameLineage,
  TRANSFORM_BITS as T,
  transformed,
} from "./lineage.ts";
import { type CteDef, CteScope, type Scope } from "./scope.ts";
import { analyzeQueryNode, analyzeSelect, type QueryOutput } from "./select.ts";

const MAX_ROUNDS = 64;

function definition(cte: CommonTableExpr): CteDef {
  return {
    name: cte.ctename ?? "",
    node: cte.ctequery,
    aliasNames: stringList(cte.aliascolnames),
    columns: undefined,
    analyzing: false,
    referenced: false,
  };
}

function named(def: CteDef, outputs: readonly QueryOutput[]): QueryOutput[] {
  return outputs.map((o, i) => ({ name: def.aliasNames[i] ?? o.name, lineage: o.lineage }));
}

function withSearchAndCycle(cte: CommonTableExpr, columns: QueryOutput[]): QueryOutput[] {
  const pick = (names: Node[] | undefined): Lineage[] =>
    stringList(names).map((name) => columns.find((c) => c.name === name)?.lineage ?? CONSTANT);
  const out = [...columns];
  const search = cte.search_clause;
  if (search?.search_seq_column !== undefined) {
    out.push({ name: search.search_seq_column, lineage: transformed(pick(search.search_col_list), T.other) });
  }
  const cycle = cte.cycle_clause;
  if (cycle?.cycle_mark_column !== undefined) out.push({ name: cycle.cycle_mark_column, lineage: CONSTANT });
  if (cycle?.cycle_path_column !== undefined) {
    out.push({ name: cycle.cycle_path_column, lineage: transformed(pick(cycle.cycle_col_list), T.array) });
  }
  return out;
}

function analyzeBody(
  def: CteDef,
  cte: CommonTableExpr,
  parent: Scope | undefined,
  ctes: CteScope,
  an: Analysis,
) {
  const node = def.node;
  if (node !== undefined && !("SelectStmt" in node)) an.effect(EFFECT.write, "data_modifying_cte");
  def.analyzing = true;
  try {
    return withSearchAndCycle(cte, named(def, analyzeQueryNode(node, parent, an, 0, ctes)));
  } finally {
    def.analyzing = false;
  }
}

function merge(previous: readonly QueryOutput[] | undefined, next: QueryOutput[]): QueryOutput[] {
  if (previous === undefined) return next;
  return next.map((column, i) => ({
    name: column.name,
    lineage: branches([previous[i]?.lineage ?? CONSTANT, column.lineage]),
  }));
}

function same(a: readonly QueryOutput[] | undefined, b: readonly QueryOutput[]): boolean {
  return (
    a !== undefined &&
    a.length === b.length &&
    a.every((c, i) => sameLineage(c.lineage, (b[i] as QueryOutput).lineage))
  );
}

function seed(def: CteDef, parent: Scope | undefined, ctes: CteScope, an: Analysis): void {
  const node = def.node;
  const select: SelectStmt | undefined =
    node !== undefined && "SelectStmt" in node ? node.SelectStmt : undefined;
  if (select?.larg === undefined || select.op === "SETOP_NONE") return;
  def.columns = named(def, analyzeSelect(select.larg, parent, ctes, an, 0));
}

/** Records the columns of the CTEs in `scope` (up to `outer`) no FROM item referenced, as read in `other`. */
export function recordUnreferenced(
  scope: CteScope | undefined,
  outer: CteScope | undefined,
  an: Analysis,
): void {
  for (let s = scope; s !== undefined && s !== outer; s = s.parent) {
    for (const def of s.defs.values()) {
      if (!def.referenced)
        for (const column of def.columns ?? []) an.record(column.lineage, CLAUSE_BITS.other);
    }
  }
}

/**
 * Analyzes the CTEs of `clause` (owned by a query nested in `parent`) and returns the CTE scope the query sees.
 * Non-recursive WITH: each CTE sees the ones before it. WITH RECURSIVE: all see all, and the whole list is
 * re-analyzed until no column's lineage changes (lineage only grows, so this ends; 64 rounds at most, after
 * which every column conservatively carries everything any column of that CTE carries).
 */
export function analyzeWith(
  clause: WithClause,
  parent: Scope | undefined,
  outer: CteScope | undefined,
  an: Analysis,
): CteScope {
  const ctes: CommonTableExpr[] = [];
  for (const node of clause.ctes ?? []) if ("CommonTableExpr" in node) ctes.push(node.CommonTableExpr);
  const defs = ctes.map(definition);
  if (clause.recursive !== true) {
    let scope = outer;
    defs.forEach((def, i) => {
      const visible = new CteScope(new Map(), scope);
      def.columns = analyzeBody(def, ctes[i] as CommonTableExpr, parent, visible, an);
      scope = new CteScope(new Map([[def.name, def]]), scope);
    });
    return scope ?? new CteScope(new Map(), undefined);
  }
  const scope = new CteScope(new Map(defs.map((def) => [def.name, def])), outer);
  for (const def of defs) seed(def, parent, scope, an);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let changed = false;
    defs.forEach((def, i) => {
      const next = merge(def.columns, analyzeBody(def, ctes[i] as CommonTableExpr, parent, scope, an));
      if (!same(def.columns, next)) changed = true;
      def.columns = next;
    });
    if (!changed) return scope;
  }
  for (const def of defs) {
    const all = transformed(
      (def.columns ?? []).map((c) => c.lineage),
      T.other,
    );
    def.columns = (def.columns ?? []).map((c) => ({ name: c.name, lineage: all }));
  }
  return scope;
}
