// Walks one expression: records what it reads in the current clause and returns the lineage of its value.
import type {
  A_Expr,
  A_Indirection,
  CaseExpr,
  ColumnRef,
  FuncCall,
  MultiAssignRef,
  Node,
  SubLink,
  TypeCast,
} from "@pgsql/types";
import { funcCall, jsonAggregate } from "./function-calls.ts";
import { CLAUSE_BITS, CONSTANT, type Lineage, TRANSFORM_BITS as T, transformed } from "./lineage.ts";
import { SQL_VALUE_FUNCTION_NAMES, XML_FUNCTION_NAMES } from "./output-names.ts";
import { columnRef, starLineage, wholeRowItem } from "./references.ts";
import type { Scope } from "./scope.ts";
import { itemColumn } from "./scope.ts";
import { analyzeQueryNode } from "./select.ts";
import { tiedSubLink } from "./ties.ts";
import { type Analysis, AnalysisTooComplex, lastName, qualifier } from "./walk-state.ts";

/**
 * Where an expression is: the analysis, the name scope, the clause it is read in (0: deferred) and, when it
 * differs from the clause's default, the construct the values read here are exposed to (`""`: none; the
 * caller records the exposure itself).
 */
export interface Cx {
  readonly an: Analysis;
  readonly scope: Scope;
  readonly clause: number;
  readonly via?: string;
}

/** The XmlExpr operations as the functions they are reported as (`x IS DOCUMENT` names no output column). */
const XML_FUNCTIONS: Readonly<Record<string, string>> = { ...XML_FUNCTION_NAMES, IS_DOCUMENT: "is_document" };

/**
 * Function-like syntax nodes walked generically: the name reported, the transformation, and the construct their
 * inputs are exposed to (undefined: the parts flow into an enclosing node that exposes them).
 */
const SYNTAX_NODES: Record<string, [string | undefined, number, string | undefined]> = {
  XmlSerialize: ["xmlserialize", T.json_xml, "function:xmlserialize"],
  JsonObjectConstructor: ["json_object", T.json_xml, "function:json_object"],
  JsonArrayConstructor: ["json_array", T.json_xml, "function:json_array"],
  JsonParseExpr: ["json", T.json_xml, "function:json"],
  JsonScalarExpr: ["json_scalar", T.json_xml, "function:json_scalar"],
  JsonSerializeExpr: ["json_serialize", T.json_xml, "function:json_serialize"],
  JsonIsPredicate: [undefined, T.operator, "json_is"],
  BooleanTest: [undefined, T.operator, "boolean_test"],
  BoolExpr: [undefined, T.operator, "bool_expr"],
  RowExpr: [undefined, T.other, "row"],
  A_ArrayExpr: [undefined, T.array, "array"],
  JsonKeyValue: [undefined, 0, undefined],
  JsonValueExpr: [undefined, 0, undefined],
};

const JSON_FUNC_OPS: Record<string, string> = {
  JSON_EXISTS_OP: "json_exists",
  JSON_QUERY_OP: "json_query",
  JSON_VALUE_OP: "json_value",
  JSON_TABLE_OP: "json_table",
};

/** The lineage of `node` (undefined: no expression), recording what it reads in `cx.clause`. */
export function expr(node: Node | undefined, cx: Cx): Lineage {
  if (node === undefined) return CONSTANT;
  if (--cx.an.budget < 0) throw new AnalysisTooComplex("analysis budget exhausted");
  for (const tag in node) return exprOf(tag, (node as Record<string, unknown>)[tag], cx);
  return CONSTANT;
}

/** The lineages of a list of expressions. */
export function exprs(nodes: readonly Node[] | undefined, cx: Cx): Lineage[] {
  const out: Lineage[] = [];
  if (nodes === undefined) return out;
  for (let i = 0; i < nodes.length; i++) out.push(expr(nodes[i], cx));
  return out;
}

/**
 * Walks expressions only for what they read (recorded in `clause`, exposed to `via` or the clause's default),
 * dropping their lineage.
 */
export function readOnly(
  nodes: readonly (Node | undefined)[] | undefined,
  cx: Cx,
  clause: number,
  via?: string,
): void {
  const inner: Cx = clause === cx.clause && via === cx.via ? cx : { an: cx.an, scope: cx.scope, clause, via };
  for (const node of nodes ?? []) expr(node, inner);
}

/** The lineage of `node`, its value exposed to `via`. */
export function exposed(node: Node | undefined, cx: Cx, via: string): Lineage {
  const lineage = expr(node, cx);
  cx.an.expose(lineage, via);
  return lineage;
}

function exprOf(tag: string, body: unknown, cx: Cx): Lineage {
  switch (tag) {
    case "ColumnRef":
      return columnRef(body as ColumnRef, cx);
    case "A_Const":
    case "String":
    case "Integer":
    case "Float":
    case "Boolean":
    case "BitString":
    case "SetToDefault":
    case "CurrentOfExpr":
    case "TypeName":
      return CONSTANT;
    case "ParamRef":
      cx.an.addParam((body as { number?: number }).number);
      return CONSTANT;
    case "FuncCall":
      return funcCall(body as FuncCall, cx);
    case "A_Expr":
      return aExpr(body as A_Expr, cx);
    case "CaseExpr":
      return caseExpr(body as CaseExpr, cx);
    case "CoalesceExpr": {
      cx.an.addFunction(undefined, "coalesce", true);
      const args = exprs((body as { args?: Node[] }).args, cx);
      for (const arg of args) cx.an.expose(arg, "coalesce");
      cx.an.conditionOperands(args);
      return transformed(args, T.coalesce);
    }
    case "MinMaxExpr": {
      const m = body as { op?: string; args?: Node[] };
      const name = m.op === "IS_LEAST" ? "least" : "greatest";
      cx.an.addFunction(undefined, name, true);
      const args = exprs(m.args, cx);
      for (const arg of args) cx.an.expose(arg, `function:${name}`);
      cx.an.conditionOperands(args);
      return transformed(args, T.function);
    }
    case "TypeCast":
      return typeCast(body as TypeCast, cx);
    case "NullTest": {
      // IS [NOT] NULL reveals only whether the value is null, which masking keeps: the result carries nothing.
      const arg = expr((body as { arg?: Node }).arg, {
        an: cx.an,
        scope: cx.scope,
        clause: cx.clause,
        via: "",
      });
      cx.an.expose(arg, "null_test");
      return CONSTANT;
    }
    case "SQLValueFunction":
      cx.an.addFunction(
        undefined,
        SQL_VALUE_FUNCTION_NAMES[(body as { op?: string }).op ?? ""] ?? "sql_value_function",
        true,
      );
      return CONSTANT;
    case "MergeSupportFunc":
      cx.an.addFunction(undefined, "merge_action", true);
      return CONSTANT;
    case "GroupingFunc": {
      cx.an.addFunction(undefined, "grouping", true);
      const args = exprs((body as { args?: Node[] }).args, cx);
      for (const arg of args) cx.an.expose(arg, "function:grouping");
      return transformed(args, T.function);
    }
    case "CollateClause":
      return expr((body as { arg?: Node }).arg, cx);
    case "NamedArgExpr":
      return expr((body as { arg?: Node }).arg, cx);
    case "List":
      return transformed(exprs((body as { items?: Node[] }).items, cx), 0);
    case "SubLink":
      return subLink(body as SubLink, cx);
    case "A_Indirection":
      return indirection(body as A_Indirection, cx);
    case "MultiAssignRef":
      return multiAssign(body as MultiAssignRef, cx);
    case "XmlExpr": {
      const x = body as { op?: string; named_args?: Node[]; args?: Node[] };
      const name = XML_FUNCTIONS[x.op ?? ""] ?? "xmlexpr";
      cx.an.addFunction(undefined, name, true);
      const parts = [...exprs(x.named_args, cx), ...exprs(x.args, cx)];
      for (const part of parts) cx.an.expose(part, `function:${name}`);
      return transformed(parts, T.json_xml);
    }
    case "ResTarget":
      return expr((body as { val?: Node }).val, cx);
    case "JsonFuncExpr": {
      // JSON_VALUE / JSON_QUERY / JSON_EXISTS evaluate a path the query chose, which can rewrite the text.
      const name = JSON_FUNC_OPS[(body as { op?: string }).op ?? ""] ?? "json_func";
      cx.an.addFunction(undefined, name, true);
      return generic(body, cx, T.json_xml | T.function, `function:${name}`);
    }
    case "JsonObjectAgg":
    case "JsonArrayAgg":
      return jsonAggregate(tag, body as Parameters<typeof jsonAggregate>[1], cx);
    case "JsonArrayQueryConstructor": {
      cx.an.addFunction(undefined, "json_array", true);
      const q = body as { query?: Node };
      const outputs = analyzeQueryNode(q.query, cx.scope, cx.an, cx.clause);
      for (const output of outputs) cx.an.expose(output.lineage, "function:json_array");
      return transformed(
        outputs.map((o) => o.lineage),
        T.json_xml | T.subquery,
      );
    }
    case "A_Star":
      return starLineage(cx);
    default: {
      const syntax = SYNTAX_NODES[tag];
      if (syntax !== undefined) {
        if (syntax[0] !== undefined) cx.an.addFunction(undefined, syntax[0], true);
        return generic(body, cx, syntax[1], syntax[2]);
      }
      return generic(body, cx, T.other, `expression:${tag}`);
    }
  }
}

/**
 * Conservative walk of a node this module does not model in detail: every nested expression flows into the
 * value, and is exposed to `via` when given (a node with no construct of its own passes its parts up).
 */
export function generic(body: unknown, cx: Cx, bits: number, via?: string): Lineage {
  const parts: Lineage[] = [];
  collect(body, cx, parts);
  if (via !== undefined) for (const part of parts) cx.an.expose(part, via);
  return transformed(parts, bits);
}

/** CASE: the operand and conditions decide which value comes out; the results are only passed along. */
function caseExpr(c: CaseExpr, cx: Cx): Lineage {
  const operand = exposed(c.arg, cx, "case_condition");
  const parts = [operand];
  for (const node of c.args ?? []) {
    if (!("CaseWhen" in node)) {
      parts.push(exposed(node, cx, "case_condition"));
      continue;
    }
    const when = exposed(node.CaseWhen.expr, cx, "case_condition");
    // `CASE x WHEN k THEN ...` compares x with each k, as `CASE WHEN x = k` does (the eighteenth outside attack).
    if (c.arg !== undefined) cx.an.conditionOperands([operand, when]);
    parts.push(when);
    parts.push(exposed(node.CaseWhen.result, cx, "case_result"));
  }
  parts.push(exposed(c.defresult, cx, "case_result"));
  return transformed(parts, T.case);
}

/** A cast: its input is exposed to `cast:<type>` (`cast:text`, `cast:int4`, `cast:date[]`). */
function typeCast(cast: TypeCast, cx: Cx): Lineage {
  const names = cast.typeName?.names;
  const array = (cast.typeName?.arrayBounds ?? []).length > 0 ? "[]" : "";
  const lineage = exposed(cast.arg, cx, `cast:${lastName(names)}${array}`);
  return transformed([lineage], T.cast);
}

function collect(value: unknown, cx: Cx, parts: Lineage[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === "object" && isNode(item)) parts.push(expr(item as Node, cx));
      else collect(item, cx, parts);
    }
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (child === null || typeof child !== "object") continue;
    if (isNode(child)) parts.push(expr(child as Node, cx));
    else collect(child, cx, parts);
  }
}

function isNode(value: object): boolean {
  if (Array.isArray(value)) return false;
  let count = 0;
  let tag = "";
  for (const key in value) {
    count++;
    tag = key;
    if (count > 1) return false;
  }
  const first = tag.charCodeAt(0);
  return count === 1 && first >= 65 && first <= 90;
}

function aExpr(e: A_Expr, cx: Cx): Lineage {
  let user = false;
  if (e.kind === "AEXPR_NULLIF") {
    cx.an.addFunction(undefined, "nullif", true);
  } else if (
    e.kind === "AEXPR_BETWEEN" ||
    e.kind === "AEXPR_NOT_BETWEEN" ||
    e.kind === "AEXPR_BETWEEN_SYM" ||
    e.kind === "AEXPR_NOT_BETWEEN_SYM"
  ) {
    // Both are recorded (and both looked up): a user-defined >= must not hide a user-defined <=.
    const ge = cx.an.addOperator(undefined, ">=");
    const le = cx.an.addOperator(undefined, "<=");
    user = ge || le;
  } else {
    user = cx.an.addOperator(qualifier(e.name), lastName(e.name));
  }
  const bits = e.kind === "AEXPR_NULLIF" ? T.function : T.operator;
  const left = expr(e.lexpr, cx);
  const right = e.kind === "AEXPR_SIMILAR" ? similarPattern(e.rexpr, cx) : expr(e.rexpr, cx);
  const via = operatorVia(e);
  cx.an.expose(left, via);
  cx.an.expose(right, via);
  cx.an.conditionOperands([left, right]);
  return transformed([left, right], bits, user);
}

/** The construct an operator expression exposes its operands to (`operator:=`, `operator:~~`, `in_list`...). */
export function operatorVia(e: A_Expr): string {
  switch (e.kind) {
    case "AEXPR_NULLIF":
      return "function:nullif";
    case "AEXPR_IN":
      return "in_list";
    case "AEXPR_DISTINCT":
    case "AEXPR_NOT_DISTINCT":
      return "is_distinct_from";
    case "AEXPR_BETWEEN":
    case "AEXPR_NOT_BETWEEN":
    case "AEXPR_BETWEEN_SYM":
    case "AEXPR_NOT_BETWEEN_SYM":
      return "between";
    case "AEXPR_OP_ANY":
      return `operator:${lastName(e.name)} any`;
    case "AEXPR_OP_ALL":
      return `operator:${lastName(e.name)} all`;
    default:
      return `operator:${lastName(e.name)}`;
  }
}

/** SIMILAR TO's pattern: the parser wraps it in `pg_catalog.similar_to_escape(...)`, which the SQL did not name. */
function similarPattern(node: Node | undefined, cx: Cx): Lineage {
  if (
    node === undefined ||
    !("FuncCall" in node) ||
    lastName(node.FuncCall.funcname) !== "similar_to_escape"
  ) {
    return expr(node, cx);
  }
  cx.an.addFunction(undefined, "similar_to_escape", true);
  return transformed(exprs(node.FuncCall.args, cx), T.function);
}

/** Clauses whose subqueries only decide which rows come out (see `Analysis.scans`). */
const CONDITION_CLAUSES: ReadonlySet<number> = new Set([
  CLAUSE_BITS.predicate,
  CLAUSE_BITS.join,
  CLAUSE_BITS.having,
  CLAUSE_BITS.limit,
]);

function subLink(link: SubLink, cx: Cx): Lineage {
  const test = expr(link.testexpr, cx);
  let user = false;
  if (link.operName !== undefined)
    user = cx.an.addOperator(qualifier(link.operName), lastName(link.operName));
  const exists = link.subLinkType === "EXISTS_SUBLINK";
  // EXISTS drops its select list's values: they are computed (and their functions exposed) but go nowhere.
  const clause = exists ? CLAUSE_BITS.other : cx.clause;
  // A subquery's rows decide a condition (their scans are not counted) when it is EXISTS / IN / ANY / ALL / a row
  // comparison, or sits in a WHERE, ON, HAVING or LIMIT; anywhere else its values may reach a result row.
  const values =
    (link.subLinkType === "EXPR_SUBLINK" || link.subLinkType === "ARRAY_SUBLINK") &&
    !CONDITION_CLAUSES.has(cx.clause);
  if (!values) cx.an.conditionDepth++;
  let outputs: ReturnType<typeof analyzeQueryNode>;
  try {
    const walked = cx.an.readsDuring(() => analyzeQueryNode(link.subselect, cx.scope, cx.an, clause));
    outputs = walked.result;
    // A subquery reading rows not tied to the row it is computed for may choose among many (`shared/sql/ties.ts`):
    // as a condition, and as a value too — a scalar subquery's NULL or not, filtered one level up, is a condition
    // (the fifteenth outside attack).
    if (walked.reads.size > 0 && !tiedSubLink(link, cx.scope, cx.an)) cx.an.choose(walked.reads);
  } finally {
    if (!values) cx.an.conditionDepth--;
  }
  if (exists) return CONSTANT;
  const parts = [test];
  for (const output of outputs) parts.push(output.lineage);
  if (link.subLinkType !== "EXPR_SUBLINK") {
    // IN / ANY / ALL / row comparisons compare values across rows; ARRAY(...) collects them.
    const via = `sublink:${(link.subLinkType ?? "").replace(/_SUBLINK$/, "").toLowerCase()}`;
    for (const part of parts) cx.an.expose(part, via);
  }
  let bits = T.subquery;
  if (link.subLinkType === "ARRAY_SUBLINK") bits |= T.array;
  if (link.testexpr !== undefined) bits |= T.operator;
  return transformed(parts, bits, user);
}

function multiAssign(ref: MultiAssignRef, cx: Cx): Lineage {
  const source = ref.source;
  const index = (ref.colno ?? 1) - 1;
  if (source !== undefined && "SubLink" in source) {
    const outputs = analyzeQueryNode(source.SubLink.subselect, cx.scope, cx.an, cx.clause);
    const chosen =
      outputs[index]?.lineage ??
      transformed(
        outputs.map((o) => o.lineage),
        0,
      );
    return transformed([chosen], T.subquery);
  }
  if (source !== undefined && "RowExpr" in source) {
    const args = source.RowExpr.args ?? [];
    return expr(args[index], cx);
  }
  return expr(source, cx);
}

function indirection(ind: A_Indirection, cx: Cx): Lineage {
  const steps = ind.indirection ?? [];
  const first = steps[0];
  if (steps.length === 1 && first !== undefined && "String" in first) {
    const item = wholeRowItem(ind.arg, cx);
    if (item !== undefined) {
      const column = itemColumn(item, first.String.sval ?? "", cx.an);
      if (column !== undefined) {
        cx.an.record(column, cx.clause, cx.via);
        return column;
      }
    }
  }
  const parts = [expr(ind.arg, cx)];
  let bits = T.other;
  for (const step of steps) {
    if ("A_Indices" in step) {
      bits |= T.array;
      parts.push(expr(step.A_Indices.lidx, cx), expr(step.A_Indices.uidx, cx));
    }
  }
  for (const part of parts) cx.an.expose(part, "subscript");
  return transformed(parts, bits);
}
