// Whether a condition's rows are tied to the row it decides: the one shape exempt from `Classification.choosers`.
//
// A condition that reads other rows (`EXISTS (SELECT ...)`, `IN (SELECT ...)`, an outer join's other side) may
// decide which of many candidate rows comes back from the facts of many rows at once: `SELECT c.id FROM patients c
// WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id BETWEEN 1 AND 12 AND CASE WHEN c.id IN (...) ...)` returns
// the one id whose bits are twelve patients' (the fourteenth outside attack). The condition is tied when every row
// it reads belongs to one candidate only: it reads one base table, and a top-level conjunct equates a column of that
// table with a column of the candidate's table that a unique index covers, where the candidate's level reads that
// one table once — so the rows the condition reads are partitioned by candidate, and each candidate's fate is a fact
// about its own rows (`EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = p.id AND e.code = 'I10')`).

import type { ColumnRef, FuncCall, JoinExpr, Node, RangeVar, SubLink } from "@pgsql/types";
import type { IndexedRelation } from "./catalog-index.ts";
import { conjuncts } from "./conjuncts.ts";
import { AGGREGATE_FUNCTIONS } from "./known-functions.ts";
import type { SourceColumn } from "./lineage.ts";
import { type FromEntry, itemsNamed, type NsItem, type Scope } from "./scope.ts";
import { type Analysis, stringList } from "./walk-state.ts";

/** The one base table a condition reads, by the name its columns are qualified with. */
interface Inner {
  readonly name: string;
  readonly relation: IndexedRelation;
}

const BASE_KINDS: ReadonlySet<string> = new Set(["table", "partitioned"]);

/** The base table `node` names (not a CTE, a view or anything else), or undefined. */
function baseTable(node: Node | undefined, scope: Scope, an: Analysis): Inner | undefined {
  if (node === undefined || !("RangeVar" in node)) return undefined;
  const rv: RangeVar = node.RangeVar;
  const name = rv.relname ?? "";
  if (rv.schemaname === undefined && scope.ctes?.find(name) !== undefined) return undefined;
  const relation = an.index.relation(rv.schemaname, name);
  if (relation === undefined || !BASE_KINDS.has(relation.kind)) return undefined;
  return { name: rv.alias?.aliasname ?? name, relation };
}

/** `a = b` between two column references: the references, or undefined. */
function equatedColumns(node: Node): [ColumnRef, ColumnRef] | undefined {
  if (!("A_Expr" in node)) return undefined;
  const e = node.A_Expr;
  if (e.kind !== "AEXPR_OP" || stringList(e.name).join(".") !== "=") return undefined;
  if (e.lexpr === undefined || e.rexpr === undefined) return undefined;
  if (!("ColumnRef" in e.lexpr) || !("ColumnRef" in e.rexpr)) return undefined;
  return [e.lexpr.ColumnRef, e.rexpr.ColumnRef];
}

/** A column reference's names, when they are plain names (`c`, `t.c`). */
function names(ref: ColumnRef): string[] | undefined {
  const fields = ref.fields ?? [];
  if (fields.length === 0 || fields.length > 2) return undefined;
  if (!fields.every((f) => "String" in f)) return undefined;
  return stringList(fields);
}

/** Whether `ref` names a column of `inner` as PostgreSQL resolves it (the innermost level first). */
function isInner(ref: ColumnRef, inner: Inner): boolean {
  const n = names(ref);
  if (n === undefined) return false;
  if (n.length === 2) return n[0] === inner.name && inner.relation.columnsByName.has(n[1] ?? "");
  return inner.relation.columnsByName.has(n[0] ?? "");
}

/**
 * The unique base column `ref` names at `level`, the level holding the condition, when that level reads one base
 * table once (its rows are the candidates), or undefined. Only that level: a key of a level further out would tie
 * the condition to that level's row while it chose among this level's candidates.
 */
function candidateKey(ref: ColumnRef, level: Scope): SourceColumn | undefined {
  const n = names(ref);
  if (n === undefined) return undefined;
  let column: SourceColumn | undefined;
  if (n.length === 2) {
    const items = itemsNamed(level, n[0] ?? "");
    const item = items.length === 1 ? items[0] : undefined;
    if (item?.relation === undefined || item.derived) return undefined;
    column = item.relation.columnsByName.get(n[1] ?? "");
  } else {
    const matches = level.entries.flatMap((e) => e.columns.filter((c) => c.name === n[0]));
    const lineage = matches.length === 1 ? matches[0]?.lineage : undefined;
    if (lineage === undefined || !lineage.copy || lineage.sources.length !== 1) return undefined;
    column = lineage.sources[0];
  }
  if (column === undefined || !column.unique) return undefined;
  // The level's rows are the table's rows, each once: a join would give one key many candidate rows.
  const only = level.entries.length === 1 ? level.entries[0]?.items : undefined;
  if (only?.length !== 1 || only[0]?.relation?.source !== column.relation || level.repeats !== undefined)
    return undefined;
  return column;
}

/**
 * Whether a subquery reads only rows tied to its candidate (see the file's comment): one base table in FROM, no set
 * operation, and `inner.col = candidate.key` among its WHERE's top-level conjuncts — or, for `x IN (SELECT col ...)`
 * keeping every row its WHERE keeps, `x` a candidate key and `col` a column of the table. `scope` is the level
 * holding the subquery.
 */
export function tiedSubLink(link: SubLink, scope: Scope, an: Analysis): boolean {
  const select = link.subselect;
  if (select === undefined || !("SelectStmt" in select)) return false;
  const stmt = select.SelectStmt;
  if ((stmt.op !== undefined && stmt.op !== "SETOP_NONE") || stmt.withClause !== undefined) return false;
  const from = stmt.fromClause ?? [];
  if (from.length !== 1) return false;
  const inner = baseTable(from[0], scope, an);
  if (inner === undefined) return false;
  // `x IN (SELECT col ...)` is `= ANY`: another operator (`x > ANY`, `x <> ANY`) compares a candidate with every row.
  // And it is `EXISTS (... AND col = x)` only while the subquery keeps every row its WHERE keeps: LIMIT after an
  // ORDER BY over other rows picks one of them (the eighteenth outside attack), as OFFSET, GROUP BY, HAVING and
  // DISTINCT ON pick or merge.
  const keepsRows =
    stmt.limitCount === undefined &&
    stmt.limitOffset === undefined &&
    stmt.groupClause === undefined &&
    stmt.havingClause === undefined &&
    (stmt.distinctClause ?? []).every((node) => Object.keys(node).length === 0);
  const equality = keepsRows && (link.operName === undefined || stringList(link.operName).join(".") === "=");
  if (
    link.subLinkType === "ANY_SUBLINK" &&
    equality &&
    link.testexpr !== undefined &&
    "ColumnRef" in link.testexpr
  ) {
    const targets = stmt.targetList ?? [];
    const target = targets.length === 1 ? targets[0] : undefined;
    const value = target !== undefined && "ResTarget" in target ? target.ResTarget.val : undefined;
    if (
      value !== undefined &&
      "ColumnRef" in value &&
      isInner(value.ColumnRef, inner) &&
      candidateKey(link.testexpr.ColumnRef, scope) !== undefined
    )
      return true;
  }
  for (const conjunct of conjuncts(stmt.whereClause)) {
    const pair = equatedColumns(conjunct);
    if (pair === undefined) continue;
    const [a, b] = pair;
    if (isInner(a, inner) && !isInner(b, inner) && candidateKey(b, scope) !== undefined) return true;
    if (isInner(b, inner) && !isInner(a, inner) && candidateKey(a, scope) !== undefined) return true;
  }
  return false;
}

/**
 * Whether an outer join's null-extended side is tied to the preserved side: `nullable.col = preserved.key` among
 * ON's top-level conjuncts, both qualified, where `preserved` names a base table of the preserved side and `key` is
 * a column of it a unique index covers. Each row of the null-extended side then matches one preserved row at most,
 * so whether a preserved row comes back with nulls is a fact about its own rows of the other side (which may be a
 * CTE or a subquery: what made its rows is analyzed on its own).
 */
export function tiedOuterJoin(
  j: JoinExpr,
  left: FromEntry,
  right: FromEntry,
  scope: Scope,
  an: Analysis,
): boolean {
  const isLeft = j.jointype === "JOIN_LEFT";
  if (!isLeft && j.jointype !== "JOIN_RIGHT") return false;
  const preserved = isLeft ? j.larg : j.rarg;
  const nullable = isLeft ? j.rarg : j.larg;
  const items = [...left.items, ...right.items];
  // The preserved side's rows are the candidates: a join among them must itself be tied, or a row of one table
  // repeats once per row of another (`patients p CROSS JOIN t x`) and ON could test a hypothesis per repeat. The
  // other side's rows must each be one table's row (or group of rows): a derived side joining or generating rows
  // can key a row by many rows' facts (`(SELECT 1 + g AS k FROM patients p, generate_series(...) g WHERE ...) x ON
  // x.k = c.id`, the fifteenth outside attack).
  return (
    tiedTree(preserved, items, scope, an) &&
    ownRows(nullable, scope, an) &&
    tiedPair(j.quals, preserved, nullable, items, true)
  );
}

/**
 * Whether a FROM item's rows are one base table's rows, or groups of them: the table itself, or a CTE or subquery
 * (not LATERAL) that reads one base table in its only FROM item, without a set operation or a WITH of its own.
 */
function ownRows(node: Node | undefined, scope: Scope, an: Analysis): boolean {
  if (node === undefined) return false;
  if (baseTable(node, scope, an) !== undefined) return true;
  let query: Node | undefined;
  if ("RangeSubselect" in node && node.RangeSubselect.lateral !== true) query = node.RangeSubselect.subquery;
  else if ("RangeVar" in node && node.RangeVar.schemaname === undefined)
    query = scope.ctes?.find(node.RangeVar.relname ?? "")?.node;
  if (query === undefined || !("SelectStmt" in query)) return false;
  const stmt = query.SelectStmt;
  if ((stmt.op !== undefined && stmt.op !== "SETOP_NONE") || stmt.withClause !== undefined) return false;
  const from = stmt.fromClause ?? [];
  return (
    from.length === 1 &&
    baseTable(from[0], scope, an) !== undefined &&
    !callsOtherThanAggregates(stmt.targetList)
  );
}

/**
 * Whether a select list calls anything but a built-in aggregate: a set-returning function there repeats each row
 * (`SELECT p.id, generate_series(1, 1025) r FROM patients p`, the nineteenth outside attack), and not every such
 * function is known by name, so any other call counts.
 */
function callsOtherThanAggregates(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(callsOtherThanAggregates);
  if (value === null || typeof value !== "object") return false;
  for (const [key, child] of Object.entries(value)) {
    if (key === "FuncCall") {
      const call = child as FuncCall;
      const name = stringList(call.funcname).at(-1) ?? "";
      if (!AGGREGATE_FUNCTIONS.has(name) || call.over !== undefined) return true;
    }
    if (callsOtherThanAggregates(child)) return true;
  }
  return false;
}

/** The names qualified references may use for the items of a FROM subtree (none for an aliased join's children). */
function aliases(node: Node | undefined, out = new Set<string>()): Set<string> {
  if (node === undefined) return out;
  if ("RangeVar" in node) out.add(node.RangeVar.alias?.aliasname ?? node.RangeVar.relname ?? "");
  else if ("RangeSubselect" in node) out.add(node.RangeSubselect.alias?.aliasname ?? "");
  else if ("RangeFunction" in node) out.add(node.RangeFunction.alias?.aliasname ?? "");
  else if ("JoinExpr" in node) {
    if (node.JoinExpr.alias !== undefined) out.add(node.JoinExpr.alias.aliasname ?? "");
    else {
      aliases(node.JoinExpr.larg, out);
      aliases(node.JoinExpr.rarg, out);
    }
  }
  return out;
}

/**
 * Whether a FROM subtree's rows repeat a base row only once per row tied to it: one table's rows ({@link ownRows}),
 * or joins of them (not FULL, not CROSS) each tied by {@link tiedPair}.
 */
function tiedTree(node: Node | undefined, items: readonly NsItem[], scope: Scope, an: Analysis): boolean {
  if (node === undefined) return false;
  if (!("JoinExpr" in node)) return ownRows(node, scope, an);
  const j = node.JoinExpr;
  if (j.jointype === "JOIN_FULL" || j.alias !== undefined || j.quals === undefined) return false;
  return (
    tiedTree(j.larg, items, scope, an) &&
    tiedTree(j.rarg, items, scope, an) &&
    tiedPair(j.quals, j.larg, j.rarg, items, false)
  );
}

/**
 * Whether `quals` equates, among its top-level conjuncts, a column of a base table on one side with a column of
 * the other side, where the base table's column is unique (`a.key = b.col`, both qualified); with `firstKeyed`,
 * the unique column must be on the side `one`.
 */
function tiedPair(
  quals: Node | undefined,
  one: Node | undefined,
  two: Node | undefined,
  items: readonly NsItem[],
  firstKeyed: boolean,
): boolean {
  const sides = [aliases(one), aliases(two)];
  const sideOf = (name: string): number =>
    sides[0]?.has(name) === true
      ? sides[1]?.has(name) === true
        ? -1
        : 0
      : sides[1]?.has(name) === true
        ? 1
        : -1;
  const visible = (name: string) => items.filter((i) => !i.hidden && i.name === name);
  const key = (n: readonly string[]): boolean => {
    const found = visible(n[0] ?? "");
    const item = found.length === 1 ? found[0] : undefined;
    if (item?.relation === undefined || item.derived) return false;
    return item.relation.columnsByName.get(n[1] ?? "")?.unique === true;
  };
  // The other side's column must be a column as it is (`1 + g AS k` keys a row by a computed value).
  const plain = (n: readonly string[]): boolean => {
    const item = visible(n[0] ?? "")[0];
    const column = item?.columns.filter((c) => c.name === n[1]);
    const lineage = column?.length === 1 ? column[0]?.lineage : undefined;
    if (lineage !== undefined) return lineage.copy && lineage.sources.length === 1;
    return item?.relation !== undefined && !item.derived;
  };
  for (const conjunct of conjuncts(quals)) {
    const pair = equatedColumns(conjunct);
    if (pair === undefined) continue;
    const [a, b] = pair.map(names);
    if (a?.length !== 2 || b?.length !== 2) continue;
    const sa = sideOf(a[0] ?? "");
    const sb = sideOf(b[0] ?? "");
    if (sa < 0 || sb < 0 || sa === sb) continue;
    if (visible(a[0] ?? "").length !== 1 || visible(b[0] ?? "").length !== 1) continue;
    if (key(a) && (sa === 0 || !firstKeyed) && plain(b)) return true;
    if (key(b) && (sb === 0 || !firstKeyed) && plain(a)) return true;
  }
  return false;
}

/**
 * Whether a level's FROM repeats a row only through joins tied by unique keys ({@link tiedTree}): one item, or one
 * join tree of them. A position among its rows (OFFSET) then counts rows each made by one row and its own rows.
 */
export function tiedFrom(from: readonly Node[], level: Scope, an: Analysis): boolean {
  if (from.length !== 1) return false;
  const items = level.entries.flatMap((entry) => entry.items);
  return tiedTree(from[0], items, level, an);
}
