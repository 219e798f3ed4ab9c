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

const XML_NAMES: Record<string, string> = {
  IS_XMLCONCAT: "xmlconcat",
  IS_XMLELEMENT: "xmlelement",
  IS_XMLFOREST: "xmlforest",
  IS_XMLPARSE: "xmlparse",
  IS_XMLPI: "xmlpi",
  IS_XMLROOT: "xmlroot",
  IS_XMLSERIALIZE: "xmlserialize",
};

const FIXED_NAMES: Record<string, string> = {
  CaseExpr: "case",
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

/** The output name of an unaliased select-list expression. */
export function outputName(node: Node | undefined): string {
  return figure(node) ?? "?column?";
}

function lastString(nodes: readonly Node[] | undefined): string | undefined {
  let name: string | undefined;
  for (const node of nodes ?? []) if ("String" in node) name = node.String.sval;
  return name;
}

function figure(node: Node | undefined): string | undefined {
  if (node === undefined) return undefined;
  if ("ColumnRef" in node) return lastString(node.ColumnRef.fields);
  if ("A_Indirection" in node) {
    const steps = node.A_Indirection.indirection ?? [];
    for (let i = steps.length - 1; i >= 0; i--) {
      const step = steps[i];
      if (step !== undefined && "String" in step) return step.String.sval;
    }
    return figure(node.A_Indirection.arg);
  }
  if ("FuncCall" in node) return lastString(node.FuncCall.funcname);
  if ("A_Expr" in node) return node.A_Expr.kind === "AEXPR_NULLIF" ? "nullif" : undefined;
  if ("TypeCast" in node) {
    const arg = node.TypeCast.arg;
    const inner = arg !== undefined && "CaseExpr" in arg ? undefined : figure(arg);
    return inner ?? lastString(node.TypeCast.typeName?.names);
  }
  if ("CollateClause" in node) return figure(node.CollateClause.arg);
  if ("SubLink" in node) {
    const link = node.SubLink;
    if (link.subLinkType === "EXISTS_SUBLINK") return "exists";
    if (link.subLinkType === "ARRAY_SUBLINK") return "array";
    if (link.subLinkType === "EXPR_SUBLINK" || link.subLinkType === "MULTIEXPR_SUBLINK") {
      const select =
        link.subselect !== undefined && "SelectStmt" in link.subselect
          ? link.subselect.SelectStmt
          : undefined;
      const first = select?.targetList?.[0];
      if (first !== undefined && "ResTarget" in first)
        return first.ResTarget.name ?? figure(first.ResTarget.val);
    }
    return undefined;
  }
  if ("MinMaxExpr" in node) return node.MinMaxExpr.op === "IS_LEAST" ? "least" : "greatest";
  if ("SQLValueFunction" in node) return SQL_VALUE_FUNCTION_NAMES[node.SQLValueFunction.op ?? ""];
  if ("XmlExpr" in node) return XML_NAMES[node.XmlExpr.op ?? ""];
  if ("JsonFuncExpr" in node) return JSON_FUNC_NAMES[node.JsonFuncExpr.op ?? ""];
  for (const tag in node) return FIXED_NAMES[tag];
  return undefined;
}
