// The name PostgreSQL gives an output column without an alias (FigureColname in parse_target.c).
import type { Node } from "@pgsql/types";

/** SQLValueFunction operations → the names PostgreSQL gives them (as output columns and as functions). */
export const SQL_VALUE_FUNCTION_NAMES: Readonly<Record<string, string>> = {
  SVFOP_CURRENT_DATE: "current_date",
  SVFOP_CURRENT_TIME: "current_time",
  SVFOP_CURRENT_TIME_N: "current_time",
  SVFOP_CURRENT_TIMESTAMP: "current_timestamp",
  SVFOP_CURRENT_TIMESTAMP_N: "current_timestamp",
  SVFOP_LOCALTIME: "localtime",
  SVFOP_LOCALTIME_N: "localtime",
  SVFOP_LOCALTIMESTAMP: "localtimestamp",
  SVFOP_LOCALTIMESTAMP_N: "localtimestamp",
  SVFOP_CURRENT_ROLE: "current_role",
  SVFOP_CURRENT_USER: "current_user",
  SVFOP_USER: "user",
  SVFOP_SESSION_USER: "session_user",
  SVFOP_CURRENT_CATALOG: "current_catalog",
  SVFOP_CURRENT_SCHEMA: "current_schema",
};

/** XmlExpr operations that read as function calls → the names PostgreSQL gives them (as output columns and as functions). */
export const XML_FUNCTION_NAMES: Readonly<Record<string, string>> = {
  IS_XMLCONCAT: "xmlconcat",
  IS_XMLELEMENT: "xmlelement",
  IS_XMLFOREST: "xmlforest",
  IS_XMLPARSE: "xmlparse",
  IS_XMLPI: "xmlpi",
  IS_XMLROOT: "xmlroot",
  IS_XMLSERIALIZE: "xmlserialize",
};

const FIXED_NAMES: Record<string, string> = {
  A_ArrayExpr: "array",
  RowExpr: "row",
  CoalesceExpr: "coalesce",
  GroupingFunc: "grouping",
  MergeSupportFunc: "merge_action",
  XmlSerialize: "xmlserialize",
  JsonParseExpr: "json",
  JsonScalarExpr: "json_scalar",
  JsonSerializeExpr: "json_serialize",
  JsonObjectConstructor: "json_object",
  JsonArrayConstructor: "json_array",
  JsonArrayQueryConstructor: "json_array",
  JsonObjectAgg: "json_objectagg",
  JsonArrayAgg: "json_arrayagg",
};

const JSON_FUNC_NAMES: Record<string, string> = {
  JSON_EXISTS_OP: "json_exists",
  JSON_QUERY_OP: "json_query",
  JSON_VALUE_OP: "json_value",
};

/**
 * A name no reference can match: given where PostgreSQL's name depends on something this analysis does not
 * model. A reference to the column by the name PostgreSQL gave it then finds nothing and is reported unresolved,
 * which the policy refuses (fail closed) instead of resolving it to another column.
 */
export const UNKNOWN_NAME = "\u0000unknown-name";

/** The output name of an unaliased select-list expression. */
export function outputName(node: Node | undefined): string {
  return figure(node)[0] ?? "?column?";
}

function lastString(nodes: readonly Node[] | undefined): string | undefined {
  let name: string | undefined;
  for (const node of nodes ?? []) if ("String" in node) name = node.String.sval;
  return name;
}

/** A name and the strength PostgreSQL gives it (0: none, 1: second best, 2: good). */
type Figured = readonly [string | undefined, number];

const NONE: Figured = [undefined, 0];

/** FigureColnameInternal (parse_target.c), node by node. */
function figure(node: Node | undefined): Figured {
  if (node === undefined) return NONE;
  if ("ColumnRef" in node) {
    const name = lastString(node.ColumnRef.fields);
    return name === undefined ? NONE : [name, 2];
  }
  if ("A_Indirection" in node) {
    const name = lastString(node.A_Indirection.indirection);
    return name === undefined ? figure(node.A_Indirection.arg) : [name, 2];
  }
  if ("FuncCall" in node) return [lastString(node.FuncCall.funcname), 2];
  if ("A_Expr" in node) {
    if (node.A_Expr.kind === "AEXPR_NULLIF") return ["nullif", 2];
    if ((node.A_Expr.kind as string) === "AEXPR_PAREN") return figure(node.A_Expr.lexpr);
    return NONE;
  }
  if ("TypeCast" in node) {
    const inner = figure(node.TypeCast.arg);
    if (inner[1] > 1) return inner;
    const type = lastString(node.TypeCast.typeName?.names);
    return type === undefined ? inner : [type, 1];
  }
  if ("CollateClause" in node) return figure(node.CollateClause.arg);
  if ("CaseExpr" in node) {
    const inner = figure(node.CaseExpr.defresult);
    return inner[1] > 1 ? inner : ["case", 1];
  }
  if ("SubLink" in node) {
    const link = node.SubLink;
    if (link.subLinkType === "EXISTS_SUBLINK") return ["exists", 2];
    if (link.subLinkType === "ARRAY_SUBLINK") return ["array", 2];
    if (link.subLinkType !== "EXPR_SUBLINK") return NONE;
    // The transformed subquery's first target's name: with `*` first, the first column it expands to.
    const select =
      link.subselect !== undefined && "SelectStmt" in link.subselect ? link.subselect.SelectStmt : undefined;
    if (select === undefined || (select.op !== undefined && select.op !== "SETOP_NONE"))
      return [UNKNOWN_NAME, 2];
    const first = select.targetList?.[0];
    if (first === undefined || !("ResTarget" in first)) return [UNKNOWN_NAME, 2];
    if (first.ResTarget.name !== undefined) return [first.ResTarget.name, 2];
    const val = first.ResTarget.val;
    const fields = val !== undefined && "ColumnRef" in val ? (val.ColumnRef.fields ?? []) : [];
    if (fields.some((f) => "A_Star" in f)) return [UNKNOWN_NAME, 2];
    if (val !== undefined && "A_Indirection" in val) {
      const steps = val.A_Indirection.indirection ?? [];
      const last = steps[steps.length - 1];
      if (last !== undefined && "A_Star" in last) return [UNKNOWN_NAME, 2];
    }
    return [outputName(val), 2];
  }
  if ("MinMaxExpr" in node) return [node.MinMaxExpr.op === "IS_LEAST" ? "least" : "greatest", 2];
  if ("SQLValueFunction" in node) return named(SQL_VALUE_FUNCTION_NAMES[node.SQLValueFunction.op ?? ""]);
  if ("XmlExpr" in node) return named(XML_FUNCTION_NAMES[node.XmlExpr.op ?? ""]);
  if ("JsonFuncExpr" in node) return named(JSON_FUNC_NAMES[node.JsonFuncExpr.op ?? ""]);
  for (const tag in node) return named(FIXED_NAMES[tag]);
  return NONE;
}

function named(name: string | undefined): Figured {
  return name === undefined ? NONE : [name, 2];
}
