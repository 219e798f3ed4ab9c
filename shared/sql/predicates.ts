// The top-level predicates of a query block (WHERE, JOIN ... ON): the shapes the opacity rules allow are exposed as such.
import type { A_Expr, Node } from "@pgsql/types";
import { conjuncts } from "./conjuncts.ts";
import { type Cx, expr } from "./expressions.ts";
import { CLAUSE_VIA, type Lineage } from "./lineage.ts";
import { lastName, qualifier } from "./walk-state.ts";

/**
 * Walks a WHERE or ON condition conjunct by conjunct. A conjunct of one of these shapes exposes its column as the
 * shape names it instead of as a plain predicate:
 * - `col IS [NOT] NULL` → `null_test`;
 * - `col = <literal | $n>` (either side), `col IN (<literals>)`, `col = ANY (ARRAY[<literals>])` → `lookup`, when
 *   `lookups` (WHERE, INNER JOIN ... ON) and the column's value is an unchanged copy; each literal is counted;
 * - `a.col = b.col`, both unchanged copies → `equi_join:<other column>` on each side.
 * Anything else is walked as a predicate of the clause (`where`, `join_on`).
 */
export function predicates(node: Node | undefined, cx: Cx, lookups: boolean): void {
  for (const conjunct of conjuncts(node, [])) predicate(conjunct, cx, lookups);
}

function predicate(node: Node, cx: Cx, lookups: boolean): void {
  if ("NullTest" in node && isPlainRef(node.NullTest.arg)) {
    cx.an.expose(silent(node.NullTest.arg, cx), "null_test");
    return;
  }
  if ("A_Expr" in node && isEquality(node.A_Expr)) {
    const e = node.A_Expr;
    const values = lookupValues(e);
    if (e.kind === "AEXPR_OP" && isPlainRef(e.lexpr) && isPlainRef(e.rexpr)) {
      cx.an.addOperator(qualifier(e.name), "=");
      equiJoin(silent(e.lexpr, cx), silent(e.rexpr, cx), cx, fallback(cx));
      return;
    }
    if (values !== undefined && lookups) {
      cx.an.addOperator(qualifier(e.name), "=");
      const ref = isPlainRef(e.lexpr) ? e.lexpr : e.rexpr;
      for (const value of values) expr(value, cx);
      const lineage = silent(ref, cx);
      if (unchanged(lineage)) {
        cx.an.expose(lineage, "lookup");
        cx.an.lookupValues += values.length;
      } else {
        cx.an.expose(lineage, fallback(cx));
        cx.an.expose(lineage, "operator:=");
      }
      return;
    }
  }
  expr(node, cx);
}

/**
 * Exposes an equality between two values: `equi_join:<column>` on each side when both are unchanged copies,
 * else `via` and `operator:=` (a copy compared with a constant or a transformed value is not a join).
 */
export function equiJoin(left: Lineage, right: Lineage, cx: Cx, via: string): void {
  if (unchanged(left) && unchanged(right) && left.sources.length > 0 && right.sources.length > 0) {
    // A copy may name several columns that hold the same value (a view's column and the base column it copies).
    const keys = (lineage: Lineage) => [...new Set(lineage.sources.map((s) => s.key))].sort().join("+");
    for (const l of left.sources) cx.an.exposeColumn(l, `equi_join:${keys(right)}`);
    for (const r of right.sources) cx.an.exposeColumn(r, `equi_join:${keys(left)}`);
    return;
  }
  for (const side of [left, right]) {
    cx.an.expose(side, via);
    cx.an.expose(side, "operator:=");
  }
}

/** The construct a predicate of this clause exposes its columns to. */
function fallback(cx: Cx): string {
  return cx.via !== undefined && cx.via !== "" ? cx.via : (CLAUSE_VIA.get(cx.clause) ?? "where");
}

/** Walks `node` recording its clause but no exposure (the caller exposes it by shape). */
function silent(node: Node | undefined, cx: Cx): Lineage {
  return expr(node, { an: cx.an, scope: cx.scope, clause: cx.clause, via: "" });
}

function unchanged(lineage: Lineage): boolean {
  return lineage.copy && lineage.wholeRows.length === 0 && !lineage.opaque;
}

/** `=` (unqualified or `pg_catalog`), in a plain, IN-list or `= ANY` comparison. */
function isEquality(e: A_Expr): boolean {
  const schema = qualifier(e.name);
  if (lastName(e.name) !== "=" || (schema !== undefined && schema !== "pg_catalog")) return false;
  return e.kind === "AEXPR_OP" || e.kind === "AEXPR_IN" || e.kind === "AEXPR_OP_ANY";
}

/** The literals of a lookup shape (`col = v`, `v = col`, `col IN (v, ...)`, `col = ANY (ARRAY[v, ...])`), if it is one. */
function lookupValues(e: A_Expr): Node[] | undefined {
  if (e.kind === "AEXPR_OP") {
    if (isPlainRef(e.lexpr) && isLiteral(e.rexpr)) return [e.rexpr as Node];
    if (isPlainRef(e.rexpr) && isLiteral(e.lexpr)) return [e.lexpr as Node];
    return undefined;
  }
  if (!isPlainRef(e.lexpr) || e.rexpr === undefined) return undefined;
  const items =
    e.kind === "AEXPR_IN" && "List" in e.rexpr
      ? e.rexpr.List.items
      : e.kind === "AEXPR_OP_ANY" && "A_ArrayExpr" in e.rexpr
        ? e.rexpr.A_ArrayExpr.elements
        : undefined;
  if (items === undefined || items.length === 0 || !items.every(isLiteral)) return undefined;
  return items;
}

/** A column named by its name (not `*`, not a subscript or field selection). */
function isPlainRef(node: Node | undefined): boolean {
  if (node === undefined || !("ColumnRef" in node)) return false;
  const fields = node.ColumnRef.fields ?? [];
  return fields.length > 0 && fields.every((f) => "String" in f);
}

/**
 * Built-in scalar types a lookup literal may be cast to. An array (`$1::text[]`, `'{a,b}'::text[]`) or a
 * user-defined type would let one "literal" carry any number of values (`= ANY (ARRAY[$1::text[]])` flattens).
 */
const SCALAR_TYPES: ReadonlySet<string> = new Set([
  "text",
  "varchar",
  "bpchar",
  "char",
  "name",
  "date",
  "time",
  "timetz",
  "timestamp",
  "timestamptz",
  "int2",
  "int4",
  "int8",
  "numeric",
  "float4",
  "float8",
  "bool",
  "uuid",
]);

/** A constant or a parameter, possibly cast to a built-in scalar type (`'2020-01-01'::date`, `$1::text`). */
function isLiteral(node: Node | undefined): boolean {
  if (node === undefined) return false;
  if ("A_Const" in node || "ParamRef" in node) return true;
  if (!("TypeCast" in node)) return false;
  const type = node.TypeCast.typeName;
  const schema = qualifier(type?.names);
  const scalar =
    (type?.arrayBounds ?? []).length === 0 &&
    (schema === undefined || schema === "pg_catalog") &&
    SCALAR_TYPES.has(lastName(type?.names));
  return scalar && isLiteral(node.TypeCast.arg);
}
