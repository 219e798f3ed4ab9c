// WITH: analyzes every CTE before the query that owns it, iterating recursive ones to a fixed point.
import type { CommonTableExpr, Node, SelectStmt, WithClause } from "@pgsql/types";
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
import { type Analysis, AnalysisTooComplex, EFFECT, stringList } from "./walk-state.ts";

const MAX_ROUNDS = 64;

function definition(cte: CommonTableExpr): CteDef {
  return {
    name: cte.ctename ?? "",
    node: cte.ctequery,
    aliasNames: stringList(cte.aliascolnames),
    columns: undefined,
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
  // The cycle mark is the result of comparing the cycle columns with every earlier row's: a function of them.
  const cycled = cycle === undefined ? CONSTANT : transformed(pick(cycle.cycle_col_list), T.other);
  if (cycle?.cycle_mark_column !== undefined) out.push({ name: cycle.cycle_mark_column, lineage: cycled });
  if (cycle?.cycle_path_column !== undefined) {
    out.push({ name: cycle.cycle_path_column, lineage: transformed(pick(cycle.cycle_col_list), T.array) });
  }
  return out;
}

/** Exposes what recursion compares and repeats: every column of a recursive CTE, its CYCLE and SEARCH columns. */
function exposeRecursion(cte: CommonTableExpr, def: CteDef, an: Analysis, recursive = true): void {
  const columns = def.columns ?? [];
  if (recursive) for (const column of columns) an.expose(column.lineage, "recursive_cte");
  const pick = (names: Node[] | undefined): Lineage[] =>
    stringList(names).map((name) => columns.find((c) => c.name === name)?.lineage ?? CONSTANT);
  for (const lineage of pick(cte.cycle_clause?.cycle_col_list)) an.expose(lineage, "cycle");
  for (const lineage of pick(cte.search_clause?.search_col_list)) an.expose(lineage, "search");
}

function analyzeBody(def: CteDef, parent: Scope | undefined, ctes: CteScope, an: Analysis): QueryOutput[] {
  const node = def.node;
  if (node !== undefined && !("SelectStmt" in node)) an.effect(EFFECT.write, "data_modifying_cte");
  return named(def, analyzeQueryNode(node, parent, an, 0, ctes));
}

/** Every branch's values in each column; the names are the first branch's, as PostgreSQL names a union's. */
function merge(previous: readonly QueryOutput[] | undefined, next: QueryOutput[]): QueryOutput[] {
  if (previous === undefined) return next;
  return next.map((column, i) => ({
    name: previous[i]?.name ?? column.name,
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

/**
 * For a body of the usual shape `non-recursive UNION [ALL] recursive` (nothing around the union), the union:
 * its two terms are analyzed apart (the columns merge both), not walked as one set operation.
 */
function unionBody(def: CteDef): SelectStmt | undefined {
  const node = def.node;
  const select = node !== undefined && "SelectStmt" in node ? node.SelectStmt : undefined;
  if (select === undefined || select.op !== "SETOP_UNION") return undefined;
  if (select.larg === undefined || select.rarg === undefined || select.withClause !== undefined)
    return undefined;
  if (
    select.sortClause !== undefined ||
    select.limitCount !== undefined ||
    select.limitOffset !== undefined
  ) {
    return undefined;
  }
  return select.lockingClause === undefined ? select : undefined;
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
      const cte = ctes[i] as CommonTableExpr;
      def.scans = an.bodyScansOf(() => {
        def.columns = withSearchAndCycle(cte, analyzeBody(def, parent, visible, an));
      });
      if (cte.cycle_clause !== undefined || cte.search_clause !== undefined)
        exposeRecursion(cte, def, an, false);
      scope = new CteScope(new Map([[def.name, def]]), scope);
    });
    return scope ?? new CteScope(new Map(), undefined);
  }
  // A recursive term scans its relations once per iteration, a number the analysis cannot know.
  let scope: CteScope | undefined;
  const read = an.bodyScansOf(() => {
    scope = analyzeRecursive(ctes, defs, parent, outer, an);
  });
  const unbounded = new Map([...read.keys()].map((r) => [r, Number.POSITIVE_INFINITY]));
  for (const relation of unbounded.keys()) an.addScans(relation, Number.POSITIVE_INFINITY);
  for (const def of defs) def.scans = unbounded;
  return scope as CteScope;
}

/** The WITH RECURSIVE case of {@link analyzeWith}. */
function analyzeRecursive(
  ctes: readonly CommonTableExpr[],
  defs: readonly CteDef[],
  parent: Scope | undefined,
  outer: CteScope | undefined,
  an: Analysis,
): CteScope {
  const scope = new CteScope(new Map(defs.map((def) => [def.name, def])), outer);
  const unions = defs.map(unionBody);
  const order = dependencyOrder(ctes, defs, an);
  // A left term cannot read its own CTE, but may read any other of the list. In dependency order every CTE a
  // term reads has columns before the term is walked (PostgreSQL refuses mutual recursion; for such a list the
  // written order is kept and an unknown CTE reads as constants in the first round only, which a later round
  // widens). Every term is walked again in every round, so the last round (nothing changed) records everything
  // with every column known.
  const cores: (QueryOutput[] | undefined)[] = defs.map(() => undefined);
  for (const i of order) {
    const def = defs[i] as CteDef;
    const left = unions[i]?.larg;
    cores[i] =
      left === undefined
        ? analyzeBody(def, parent, scope, an)
        : named(def, analyzeSelect(left, parent, scope, an, 0));
    def.columns = withSearchAndCycle(ctes[i] as CommonTableExpr, cores[i]);
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let changed = false;
    for (const i of order) {
      const def = defs[i] as CteDef;
      const union = unions[i];
      const next =
        union === undefined
          ? merge(cores[i], analyzeBody(def, parent, scope, an))
          : merge(
              merge(cores[i], named(def, analyzeSelect(union.larg as SelectStmt, parent, scope, an, 0))),
              named(def, analyzeSelect(union.rarg as SelectStmt, parent, scope, an, 0)),
            );
      if (!same(cores[i], next)) changed = true;
      cores[i] = next;
      def.columns = withSearchAndCycle(ctes[i] as CommonTableExpr, next);
    }
    if (!changed) {
      exposeRecursive(ctes, defs, an);
      return scope;
    }
  }
  for (const def of defs) {
    const all = transformed(
      (def.columns ?? []).map((c) => c.lineage),
      T.other,
    );
    def.columns = (def.columns ?? []).map((c) => ({ name: c.name, lineage: all }));
  }
  exposeRecursive(ctes, defs, an);
  return scope;
}

/**
 * The indexes of the list's CTEs with every CTE after those it reads (besides itself); the written order when the
 * references form a cycle.
 */
function dependencyOrder(ctes: readonly CommonTableExpr[], defs: readonly CteDef[], an: Analysis): number[] {
  const reads = defs.map((_, i) =>
    defs.flatMap((other, j) => (j !== i && refersTo(ctes[i]?.ctequery, other.name, an) ? [j] : [])),
  );
  const order: number[] = [];
  const state: ("open" | "done")[] = [];
  const visit = (i: number): boolean => {
    if (state[i] === "done") return true;
    if (state[i] === "open") return false;
    state[i] = "open";
    for (const j of reads[i] ?? []) if (!visit(j)) return false;
    state[i] = "done";
    order.push(i);
    return true;
  };
  for (let i = 0; i < defs.length; i++) if (!visit(i)) return defs.map((_, k) => k);
  return order;
}

/** Exposes the recursion of each CTE of a WITH RECURSIVE list that refers to itself (or has CYCLE / SEARCH). */
function exposeRecursive(ctes: readonly CommonTableExpr[], defs: readonly CteDef[], an: Analysis): void {
  defs.forEach((def, i) => {
    const cte = ctes[i] as CommonTableExpr;
    // A union body is split into its branches here (not walked as a set operation by select.ts): its columns
    // merge every branch's values, as any set operation's do, whether or not the CTE refers to itself.
    const union = unionBody(def);
    if (union !== undefined) {
      const op = `set_operation:union${union.all === true ? "_all" : ""}`;
      for (const column of def.columns ?? []) an.expose(column.lineage, op);
    }
    const recursive = refersTo(cte.ctequery, def.name, an);
    if (recursive || cte.cycle_clause !== undefined || cte.search_clause !== undefined)
      exposeRecursion(cte, def, an, recursive);
  });
}

/** True when `node` reads a relation named `name` without a schema (a CTE's reference to itself). */
function refersTo(node: unknown, name: string, an: Analysis): boolean {
  if (--an.budget < 0) throw new AnalysisTooComplex("analysis budget exhausted");
  if (Array.isArray(node)) return node.some((item) => refersTo(item, name, an));
  if (node === null || typeof node !== "object") return false;
  const record = node as Record<string, unknown>;
  const range = record.RangeVar as { relname?: string; schemaname?: string } | undefined;
  if (range !== undefined && range.relname === name && range.schemaname === undefined) return true;
  for (const key in record) if (refersTo(record[key], name, an)) return true;
  return false;
}
