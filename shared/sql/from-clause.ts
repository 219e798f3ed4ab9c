// Turns FROM items (tables, views, CTE references, subqueries, functions, joins, table functions) into scope entries.
import type { JoinExpr, Node, RangeFunction, RangeVar } from "@pgsql/types";
import type { IndexedRelation } from "./catalog-index.ts";
import { type Cx, expr } from "./expressions.ts";
import { POPULATE_FUNCTIONS, SET_RETURNING_COLUMNS } from "./known-functions.ts";
import {
  branches,
  CLAUSE_BITS,
  CONSTANT,
  type Lineage,
  TRANSFORM_BITS as T,
  transformed,
} from "./lineage.ts";
import { equiJoin, predicates } from "./predicates.ts";
import { type FromEntry, makeItem, type NsItem, type RangeColumn, rangeColumns, Scope } from "./scope.ts";
import { analyzeQueryNode } from "./select.ts";
import { tiedOuterJoin } from "./ties.ts";
import { viewColumns } from "./views.ts";
import { ACCESS, type Analysis, qualifier, stringList } from "./walk-state.ts";

function single(item: NsItem): FromEntry {
  return { items: [item], columns: item.columns, open: item.open };
}

function aliasNames(alias: { colnames?: Node[] } | undefined): string[] {
  return stringList(alias?.colnames);
}

/**
 * The entry for one FROM item. `level` is the query level being built (its entries so far are visible to
 * subqueries and functions, as LATERAL would make them; a non-LATERAL reference PostgreSQL refuses anyway).
 */
export function fromItem(node: Node, level: Scope, an: Analysis): FromEntry {
  if ("RangeVar" in node) return rangeVar(node.RangeVar, level, an);
  if ("JoinExpr" in node) return join(node.JoinExpr, level, an);
  if ("RangeSubselect" in node) {
    const sub = node.RangeSubselect;
    // Without LATERAL a subquery in FROM sees the enclosing queries, not the FROM items beside it.
    const sees = sub.lateral === true ? level : new Scope(level.parent, level.ctes);
    const { result: outputs, reads } = an.readsDuring(() => analyzeQueryNode(sub.subquery, sees, an, 0));
    // A LATERAL subquery runs once per row beside it, and whether it returns rows decides whether that row does.
    if (sub.lateral === true) an.choose(reads);
    const columns = rangeColumns(outputs, aliasNames(sub.alias));
    return single(makeItem(sub.alias?.aliasname, columns, { derived: true }));
  }
  if ("RangeFunction" in node) return rangeFunction(node.RangeFunction, level, an);
  if ("RangeTableSample" in node) {
    const sample = node.RangeTableSample;
    const cx: Cx = { an, scope: level, clause: CLAUSE_BITS.limit, via: "tablesample" };
    for (const arg of sample.args ?? []) expr(arg, cx);
    expr(sample.repeatable, cx);
    if (sample.relation !== undefined) return fromItem(sample.relation, level, an);
    return { items: [], columns: [], open: undefined };
  }
  if ("RangeTableFunc" in node) {
    const table = node.RangeTableFunc;
    an.addFunction(undefined, "xmltable", true);
    const cx: Cx = { an, scope: level, clause: 0 };
    const parts = [expr(table.docexpr, cx), expr(table.rowexpr, cx)];
    for (const ns of table.namespaces ?? []) parts.push(expr(ns, cx));
    for (const part of parts) an.record(part, CLAUSE_BITS.limit, "table_function");
    // A column's PATH is an XPath expression evaluated over the document: it can rewrite the text
    // (`translate(., "0123456789", "ABCDEFGHIJ")`, `substring(., 1, 40)`), so such a column is a function of
    // the document. So is every column when the row expression is not a constant the query wrote.
    const dynamicRows = table.rowexpr !== undefined && !isStringConstant(table.rowexpr);
    const columns: RangeColumn[] = [];
    for (const col of table.columns ?? []) {
      if (!("RangeTableFuncCol" in col)) continue;
      const c = col.RangeTableFuncCol;
      const bits = c.colexpr !== undefined || dynamicRows ? T.json_xml | T.function : T.json_xml;
      const own =
        c.for_ordinality === true
          ? CONSTANT
          : transformed([...parts, expr(c.colexpr, cx), expr(c.coldefexpr, cx)], bits);
      columns.push({ name: c.colname ?? "", lineage: own, used: false });
    }
    return single(
      makeItem(table.alias?.aliasname, rangeColumnsRenamed(columns, table.alias), { derived: true }),
    );
  }
  if ("JsonTable" in node) {
    const table = node.JsonTable;
    an.addFunction(undefined, "json_table", true);
    const cx: Cx = { an, scope: level, clause: 0 };
    const parts = [expr(table.context_item?.raw_expr, cx)];
    for (const p of table.passing ?? []) parts.push(expr(p, cx));
    for (const part of parts) an.record(part, CLAUSE_BITS.limit, "table_function");
    const columns: RangeColumn[] = [];
    const evaluated = !plainJsonPath(table.pathspec);
    jsonTableColumns(table.columns, parts, evaluated, cx, columns);
    return single(
      makeItem(table.alias?.aliasname, rangeColumnsRenamed(columns, table.alias), { derived: true }),
    );
  }
  const lineage = expr(node, { an, scope: level, clause: CLAUSE_BITS.other, via: "from_item" });
  return single(makeItem(undefined, [], { open: lineage, derived: true }));
}

function rangeColumnsRenamed(
  columns: RangeColumn[],
  alias: { colnames?: Node[] } | undefined,
): RangeColumn[] {
  const names = aliasNames(alias);
  return names.length === 0 ? columns : rangeColumns(columns, names);
}

/**
 * The columns of JSON_TABLE. A column's value is the document's item at its path; a path that does more than
 * walk members and array elements (an explicit PATH, a NESTED PATH, a row path with methods or filters, an
 * EXISTS test) is an expression the query chose, which can rewrite the text (`.datetime()`, `.string()`), so
 * the column is a function of the document. DEFAULT ... ON EMPTY / ON ERROR values flow into the column too.
 */
function jsonTableColumns(
  nodes: readonly Node[] | undefined,
  parts: readonly Lineage[],
  evaluated: boolean,
  cx: Cx,
  out: RangeColumn[],
): void {
  for (const node of nodes ?? []) {
    if (!("JsonTableColumn" in node)) continue;
    const column = node.JsonTableColumn;
    if (column.coltype === "JTC_NESTED") {
      jsonTableColumns(column.columns, parts, true, cx, out);
      continue;
    }
    if (column.coltype === "JTC_FOR_ORDINALITY") {
      out.push({ name: column.name ?? "", lineage: CONSTANT, used: false });
      continue;
    }
    const pathed = evaluated || column.pathspec !== undefined || column.coltype === "JTC_EXISTS";
    const own = [...parts, expr(column.on_empty?.expr, cx), expr(column.on_error?.expr, cx)];
    const lineage = transformed(own, pathed ? T.json_xml | T.function : T.json_xml);
    out.push({ name: column.name ?? "", lineage, used: false });
  }
}

/** A string literal (`'/r/row'`), possibly cast. */
function isStringConstant(node: Node): boolean {
  if ("A_Const" in node) return true;
  if ("TypeCast" in node && node.TypeCast.arg !== undefined) return isStringConstant(node.TypeCast.arg);
  return false;
}

/** A JSON path that only walks members and array elements (`$`, `$[*]`, `lax $.a."b"[*]`). */
const PLAIN_JSON_PATH =
  /^\s*(?:(?:lax|strict)\s+)?\$(?:\s*(?:\[\s*\*\s*\]|\.\s*\*|\.\s*[A-Za-z_][A-Za-z0-9_]*|\.\s*"[^"\\]*"))*\s*$/;

function plainJsonPath(spec: { string?: Node } | undefined): boolean {
  const node = spec?.string;
  if (node === undefined || !("A_Const" in node)) return false;
  const text = node.A_Const.sval?.sval;
  return text !== undefined && PLAIN_JSON_PATH.test(text);
}

function rangeVar(rv: RangeVar, level: Scope, an: Analysis): FromEntry {
  const name = rv.relname ?? "";
  const alias = rv.alias?.aliasname;
  const renames = aliasNames(rv.alias);
  if (rv.schemaname === undefined) {
    const cte = level.ctes?.find(name);
    if (cte !== undefined) {
      an.referenceScans(cte.scans, !cte.referenced);
      cte.referenced = true;
      const columns = cte.columns === undefined ? [] : rangeColumns(cte.columns, renames);
      const open = cte.columns === undefined ? CONSTANT : undefined;
      return single(makeItem(alias ?? name, columns, { derived: true, ...(open ? { open } : {}) }));
    }
  }
  const relation = an.resolveRelation(rv.schemaname, name);
  an.touchRelation(relation, ACCESS.read);
  an.addScans(relation.source, 1);
  const view = viewColumns(relation, an);
  let columns: RangeColumn[];
  if (view !== undefined) columns = rangeColumns(view, renames);
  else if (renames.length > 0) columns = rangeColumns(baseColumns(relation), renames);
  else columns = baseColumns(relation);
  const open = relation.kind === "unknown" ? CONSTANT : undefined;
  return single(makeItem(alias ?? name, columns, open === undefined ? { relation } : { relation, open }));
}

const baseColumnCache = new WeakMap<IndexedRelation, RangeColumn[]>();

/**
 * The columns of a base relation, shared by every reference to it (their `used` flag only matters for
 * derived items, so sharing is harmless).
 */
function baseColumns(relation: IndexedRelation): RangeColumn[] {
  let columns = baseColumnCache.get(relation);
  if (columns === undefined) {
    columns = relation.columns.map((c) => ({ name: c.column, lineage: c.lineage, used: false }));
    baseColumnCache.set(relation, columns);
  }
  return columns;
}

function join(j: JoinExpr, level: Scope, an: Analysis): FromEntry {
  const l = an.readsDuring(() => (j.larg === undefined ? emptyEntry() : fromItem(j.larg, level, an)));
  const left = l.result;
  const r = an.readsDuring(() => {
    if (j.rarg !== undefined && "RangeVar" in j.rarg) return fromItem(j.rarg, level, an);
    if (j.rarg === undefined) return emptyEntry();
    const inner = new Scope(level.parent, level.ctes);
    inner.entries.push(...level.entries, left);
    return fromItem(j.rarg, inner, an);
  });
  const right = r.result;
  // An outer join's null-extended rows come back when no row of the other side matches: that side decides which
  // rows do, unless tied to them (`shared/sql/ties.ts`). A FULL join's both sides.
  if (j.jointype === "JOIN_FULL") an.choose([...l.reads, ...r.reads]);
  else if (j.jointype === "JOIN_LEFT" || j.jointype === "JOIN_RIGHT") {
    if (!tiedOuterJoin(j, left, right, level, an)) an.choose(j.jointype === "JOIN_LEFT" ? r.reads : l.reads);
  }
  if (j.quals !== undefined) {
    // ON sees the join's own inputs and the enclosing queries, not the other FROM items of this level.
    const onScope = new Scope(level.parent, level.ctes);
    onScope.entries.push(left, right);
    predicates(j.quals, { an, scope: onScope, clause: CLAUSE_BITS.join }, j.jointype === "JOIN_INNER");
  }
  const usingNames =
    j.isNatural === true
      ? naturalNames(left, right, an)
      : j.usingClause === undefined
        ? NO_NAMES
        : stringList(j.usingClause);
  const merged: RangeColumn[] = [];
  for (const name of usingNames) {
    const l = left.columns.filter((c) => c.name === name);
    const r = right.columns.filter((c) => c.name === name);
    // A side of unknown shape compares a value this analysis derives from that side's inputs.
    if (l.length === 0 && left.open !== undefined) l.push({ name, lineage: left.open, used: true });
    if (r.length === 0 && right.open !== undefined) r.push({ name, lineage: right.open, used: true });
    // PostgreSQL refuses a USING name one side lacks; not finding it here means this analysis named a column
    // otherwise than PostgreSQL does: unresolved, so the statement is refused rather than misread.
    if ((l.length === 0 && left.open === undefined) || (r.length === 0 && right.open === undefined))
      an.unresolved.add(name);
    const parts = [...l, ...r];
    for (const part of parts) part.used = true;
    const lineages = parts.map((c) => c.lineage);
    for (const lineage of lineages) an.record(lineage, CLAUSE_BITS.join, "");
    equiJoin(
      branches(l.map((c) => c.lineage)),
      branches(r.map((c) => c.lineage)),
      { an, scope: level, clause: CLAUSE_BITS.join },
      "join_using",
    );
    const lineage = j.jointype === "JOIN_FULL" ? transformed(lineages, T.coalesce) : branches(lineages);
    merged.push({ name, lineage, used: true, parts });
  }
  const columns = merged.length === 0 ? [...left.columns, ...right.columns] : [...merged];
  if (merged.length > 0) {
    for (const c of left.columns) if (!usingNames.includes(c.name)) columns.push(c);
    for (const c of right.columns) if (!usingNames.includes(c.name)) columns.push(c);
  }
  const open =
    left.open !== undefined || right.open !== undefined
      ? transformed([left.open ?? CONSTANT, right.open ?? CONSTANT], 0)
      : undefined;
  const items = [...left.items, ...right.items];
  if (j.alias !== undefined) {
    for (const item of items) item.hidden = true;
    // `(a JOIN b) AS j(x, y)`: unqualified names see the join's columns as the alias renames them.
    const renamed = renamedColumns(columns, aliasNames(j.alias));
    items.push(makeItem(j.alias.aliasname, renamed, { ...(open ? { open } : {}) }));
    if (j.join_using_alias !== undefined) items.push(makeItem(j.join_using_alias.aliasname, merged));
    return { items, columns: renamed, open };
  }
  if (j.join_using_alias !== undefined) items.push(makeItem(j.join_using_alias.aliasname, merged));
  return { items, columns, open };
}

const NO_NAMES: readonly string[] = Object.freeze([]);

function emptyEntry(): FromEntry {
  return { items: [], columns: [], open: undefined };
}

/** Columns renamed by an alias column list, each a view of the column it renames (a use marks that one used). */
function renamedColumns(columns: readonly RangeColumn[], names: readonly string[]): RangeColumn[] {
  if (names.length === 0) return [...columns];
  return columns.map((column, i) =>
    i < names.length
      ? { name: names[i] as string, lineage: column.lineage, used: false, parts: [column] }
      : column,
  );
}

/** The common column names of a NATURAL join; with an item of unknown shape they are unknown (unresolved). */
function naturalNames(left: FromEntry, right: FromEntry, an: Analysis): string[] {
  if (left.open !== undefined || right.open !== undefined) an.unresolved.add("NATURAL JOIN");
  const names: string[] = [];
  for (const column of left.columns) {
    if (!names.includes(column.name) && right.columns.some((c) => c.name === column.name))
      names.push(column.name);
  }
  return names;
}

function rangeFunction(rf: RangeFunction, level: Scope, an: Analysis): FromEntry {
  an.generatedRows.add("function_in_from");
  const cx: Cx = { an, scope: level, clause: 0 };
  const columns: RangeColumn[] = [];
  const openParts: Lineage[] = [];
  const functions = rf.functions ?? [];
  const alias = rf.alias?.aliasname;
  for (const entry of functions) {
    const items = "List" in entry ? (entry.List.items ?? []) : [entry];
    const call = items[0];
    const coldefs = items[1] !== undefined && "List" in items[1] ? (items[1].List.items ?? []) : [];
    const lineage = expr(call, cx);
    const definitions = coldefs.length > 0 ? coldefs : functions.length === 1 ? (rf.coldeflist ?? []) : [];
    if (definitions.length > 0) {
      for (const def of definitions) {
        if ("ColumnDef" in def) columns.push({ name: def.ColumnDef.colname ?? "", lineage, used: false });
      }
      continue;
    }
    const known = functionColumns(call, an);
    const name = functions.length === 1 && alias !== undefined ? alias : functionName(call);
    if (known === undefined) {
      columns.push({ name, lineage, used: false });
      openParts.push(lineage);
    } else if (known === null) {
      columns.push({ name, lineage, used: false });
    } else {
      for (const column of known) columns.push({ name: column, lineage, used: false });
    }
  }
  if (rf.ordinality === true) columns.push({ name: "ordinality", lineage: CONSTANT, used: false });
  const open = openParts.length > 0 ? transformed(openParts, 0) : undefined;
  const item = makeItem(
    alias ?? functionName(functions.length === 1 ? firstCall(functions[0]) : undefined),
    rangeColumns(columns, aliasNames(rf.alias)),
    {
      derived: true,
      ...(open ? { open } : {}),
    },
  );
  return single(item);
}

/**
 * `unnest(a, b, ...)` in FROM: one column per array when every array is plainly of scalars (ARRAY[...] of
 * literals, parameters and casts to built-in scalar types, or a literal cast to such an array type). Anything
 * else may be an array of rows (one column per field) or another overload (`unnest(tsvector)` has three
 * columns): a width this analysis does not know.
 */
function unnestColumns(args: readonly Node[]): readonly string[] | null | undefined {
  if (args.length === 0 || !args.every(scalarArray)) return undefined;
  return args.length === 1 ? null : args.map(() => "unnest");
}

/** Built-in scalar types (the parser's names), whose arrays unnest into one column. */
const SCALAR_TYPES: ReadonlySet<string> = new Set([
  "text",
  "varchar",
  "bpchar",
  "char",
  "name",
  "int2",
  "int4",
  "int8",
  "numeric",
  "float4",
  "float8",
  "bool",
  "date",
  "timestamp",
  "timestamptz",
  "time",
  "timetz",
  "interval",
  "uuid",
  "json",
  "jsonb",
  "bytea",
  "oid",
]);

function castType(node: Node): { name: string; array: boolean } | undefined {
  if (!("TypeCast" in node)) return undefined;
  const typeName = node.TypeCast.typeName;
  const names = stringList(typeName?.names);
  const schema = names.length > 1 ? names[names.length - 2] : undefined;
  if (schema !== undefined && schema !== "pg_catalog") return undefined;
  return { name: names[names.length - 1] ?? "", array: (typeName?.arrayBounds ?? []).length > 0 };
}

function scalarArray(node: Node): boolean {
  if ("A_ArrayExpr" in node) return (node.A_ArrayExpr.elements ?? []).every(scalarElement);
  const cast = castType(node);
  const arg = "TypeCast" in node ? node.TypeCast.arg : undefined;
  return cast?.array === true && SCALAR_TYPES.has(cast.name) && arg !== undefined && "A_Const" in arg;
}

function scalarElement(node: Node): boolean {
  if ("A_Const" in node || "ParamRef" in node) return true;
  if ("A_ArrayExpr" in node) return (node.A_ArrayExpr.elements ?? []).every(scalarElement);
  const cast = castType(node);
  const arg = "TypeCast" in node ? node.TypeCast.arg : undefined;
  return (
    cast !== undefined &&
    !cast.array &&
    SCALAR_TYPES.has(cast.name) &&
    arg !== undefined &&
    scalarElement(arg)
  );
}

function firstCall(entry: Node | undefined): Node | undefined {
  if (entry === undefined) return undefined;
  return "List" in entry ? entry.List.items?.[0] : entry;
}

function functionName(call: Node | undefined): string {
  if (call !== undefined && "FuncCall" in call) {
    const names = stringList(call.FuncCall.funcname);
    return names[names.length - 1] ?? "";
  }
  return "";
}

/** Known result columns: null for one scalar column, names for a known row type, undefined when unknown. */
function functionColumns(call: Node | undefined, an: Analysis): readonly string[] | null | undefined {
  // Anything but a function call (a cast, COALESCE, NULLIF...) may be of a composite type: its width is unknown.
  if (call === undefined || !("FuncCall" in call)) return undefined;
  const name = functionName(call);
  const schema = qualifier(call.FuncCall.funcname);
  if (name === "unnest" && (schema === undefined || schema === "pg_catalog"))
    return unnestColumns(call.FuncCall.args ?? []);
  if (POPULATE_FUNCTIONS.has(name)) {
    const first = call.FuncCall.args?.[0];
    if (first !== undefined && "TypeCast" in first) {
      const typeNames = stringList(first.TypeCast.typeName?.names);
      const typeName = typeNames[typeNames.length - 1] ?? "";
      const relation = an.index.relation(
        typeNames.length > 1 ? typeNames[typeNames.length - 2] : undefined,
        typeName,
      );
      if (relation !== undefined) return relation.columns.map((c) => c.column);
    }
    return undefined;
  }
  const user = an.index.userRoutines(qualifier(call.FuncCall.funcname), name, false);
  if (user.length > 0) return undefined;
  return SET_RETURNING_COLUMNS.has(name) ? (SET_RETURNING_COLUMNS.get(name) ?? null) : undefined;
}
