// A statement with every value in it made a parameter the planner does not know: what the estimate is asked of.

import { BadRequestError } from "#shared/errors.ts";
import { type PgScanToken, pgParse, pgScan } from "./pg-wasm.ts";

/** A statement to estimate as PostgreSQL's generic plan (`PREPARE` with `plan_cache_mode = force_generic_plan`). */
export interface GenericStatement {
  /** The statement with each value replaced by `$n` (after the caller's own `$1..$k`, which it keeps). */
  readonly sql: string;
  /** The declared type of each `$n`: `unknown` lets PostgreSQL infer it from the context, as for the literal. */
  readonly types: readonly string[];
  /**
   * Per parameter, the function call it is an argument of (0: none): where PostgreSQL cannot type one argument
   * of a call (`concat`, `json_build_object`, `num_nulls` take `"any"`), it cannot type its siblings either.
   */
  readonly calls?: readonly number[];
  /**
   * The same with one parameter per occurrence, where `sql` gives equal literals one parameter (so a GROUP BY
   * expression still matches its output column): for a literal used in two contexts of different types (42883).
   */
  readonly separate?: GenericStatement;
}

/** PostgreSQL's limit on a statement's parameters. */
const MAX_PARAMS = 65_535;

/** The interval qualifier that may follow a typed interval literal (`interval '1' day to second(3)`). */
const INTERVAL_FIELDS = new Set(["year", "month", "day", "hour", "minute", "second", "to"]);

/**
 * Nodes that name things, never values: parts of names and type names, `*`, a table reference, an empty grouping
 * set or window, an omitted slice bound, an ordinality column, a column definition list's entry. A node with no other node below it is a leaf, and a
 * leaf is checked against this list, {@link OPAQUE_LEAVES} and {@link WRAPPED_LEAVES}: any other leaf leaves the
 * statement without a generic form (the check is an allow-list, so a node type nobody listed fails closed).
 */
const NAMING_LEAVES = new Set([
  "String",
  "Integer",
  "Float",
  "Boolean",
  "BitString",
  "A_Star",
  "TypeName",
  "RangeVar",
  "GroupingSet",
  "WindowDef",
  "A_Indices",
  "JsonTableColumn",
  "RangeTableFuncCol",
  "ColumnDef",
]);

/** Nodes whose contents are names only (so a node holding nothing else is a leaf). */
const NAME_PARTS = new Set(["String", "Integer", "Float", "Boolean", "BitString", "A_Star", "TypeName"]);

/**
 * Leaves the planner cannot fold into a value: a column, a parameter, a subquery (planned apart: its result is a
 * parameter to the statement), and literals (made parameters, or kept where they are syntax).
 */
const OPAQUE_LEAVES = new Set(["ColumnRef", "ParamRef", "SubLink", "A_Const"]);

/**
 * Leaves that make a value from nothing — `pi()`, `now()`, `current_date`, `current_user`, `xmlelement(name x)`,
 * `JSON_OBJECT()` — from which arithmetic builds any number without a literal (the twenty-sixth outside attack:
 * `num_nulls(NULL, NULL, …)`, and `pi()` or `current_date` do as well). Each is written `(SELECT leaf)`, so no
 * expression over it folds to a constant. Any other leaf (an empty `ARRAY[]`, `ROW()`) leaves the statement
 * without a generic form.
 */
const WRAPPED_LEAVES = new Set([
  "FuncCall",
  "SQLValueFunction",
  "XmlExpr",
  "JsonObjectConstructor",
  "JsonArrayConstructor",
]);

/**
 * `generate_series(a, b[, step])`: its number arguments give its row estimate (PostgreSQL's support function
 * counts the series) and nothing else; the planner knows nothing of the values it yields. A parameter there would
 * be estimated at 1,000 rows whatever the series.
 */
function isGenerateSeries(call: Json): boolean {
  const names = asList(call.funcname).map((n) => (isObject(n) && isObject(n.String) ? n.String.sval : ""));
  const [schema, name] = names.length === 2 ? names : [undefined, names[0]];
  return name === "generate_series" && (schema === undefined || schema === "pg_catalog");
}

/** A parse-tree node's type (`{"FuncCall": {...}}`): fields are camelCase, node types start upper-case. */
function isNodeType(key: string, value: unknown): boolean {
  return /^[A-Z]/.test(key) && isObject(value);
}

/** Whether `value` holds a node other than name parts anywhere below it (type names count as names). */
function holdsNode(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsNode);
  if (!isObject(value)) return false;
  return Object.entries(value).some(([key, child]) => {
    if (key === "typeName" || NAME_PARTS.has(key)) return false;
    return isNodeType(key, child) || holdsNode(child);
  });
}

interface Constant {
  readonly location: number;
  readonly node: Record<string, unknown>;
  /** Kept as written: a value the planner reads as syntax, not as data (see {@link keptPositions}). */
  readonly kept: boolean;
  /** The typed-literal cast it is the argument of (`date '2020-01-01'`): where the type name starts. */
  readonly typedFrom?: number;
  readonly typeNames?: readonly string[];
  /** The function call it is an argument of (its arguments are typed together), numbered from 1. */
  readonly call?: number;
  /** The argument of IS [NOT] NULL, IS [NOT] TRUE...: nothing types it, so a string or NULL is text there. */
  readonly tested?: boolean;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The A_Const directly in `value` (a list item or a field), if it is one. */
function directConstant(value: unknown): Json | undefined {
  return isObject(value) && isObject(value.A_Const) ? value.A_Const : undefined;
}

/**
 * Where a constant of a SELECT keeps its text: a LIMIT/OFFSET count given directly (it caps the estimate at a
 * number the caller chose, never compares with data) and an output-column number in ORDER BY, GROUP BY (GROUPING
 * SETS too) or DISTINCT ON (a parameter there would sort or group by a constant: a smaller estimate than the
 * statement's). The walk keeps the others: anything in a type name (`varchar(10)`, `interval day`),
 * `generate_series`' literal arguments ({@link isGenerateSeries}) and a JSON_TABLE path (PostgreSQL takes only a
 * literal there; it is applied to each document, never compared with a column's statistics). Every other
 * constant becomes a parameter.
 */
function keptPositions(select: Json, kept: Set<Json>): void {
  for (const key of ["limitCount", "limitOffset"]) {
    const c = directConstant(select[key]);
    if (c !== undefined) kept.add(c);
  }
  const ordinal = (item: unknown) => {
    const c = directConstant(item);
    if (c !== undefined && isObject(c.ival)) kept.add(c);
  };
  for (const item of asList(select.sortClause)) {
    if (isObject(item) && isObject(item.SortBy)) ordinal(item.SortBy.node);
  }
  for (const item of asList(select.distinctClause)) ordinal(item);
  const grouping = (items: readonly unknown[], inSet: boolean) => {
    for (const item of items) {
      ordinal(item);
      if (isObject(item) && isObject(item.GroupingSet)) grouping(asList(item.GroupingSet.content), true);
      // In GROUPING SETS, `(1, 2)` is a set of two output-column numbers, not a row.
      if (inSet && isObject(item) && isObject(item.RowExpr)) grouping(asList(item.RowExpr.args), true);
    }
  };
  grouping(asList(select.groupClause), false);
}

function asList(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** What a statement's tree holds that the planner could read a value from. */
interface Survey {
  /** Every A_Const with where it sits. */
  readonly constants: Constant[];
  /** Where each value-making leaf starts ({@link WRAPPED_LEAVES}). */
  readonly leaves: number[];
  /** A leaf that can be neither a parameter nor wrapped (an empty `ARRAY[]`, `ROW()`). */
  unsupported: boolean;
}

/** Every A_Const and value-making leaf of the tree. */
function survey(tree: unknown): Survey {
  const found: Constant[] = [];
  const result: Survey = { constants: found, leaves: [], unsupported: false };
  const kept = new Set<Json>();
  /** The functions of FROM items: a set-returning call there is a relation, not a value. */
  const fromFunctions = new Set<Json>();
  /** Direct arguments of function calls (by call number) and of IS NULL / IS TRUE tests. */
  const arguments_ = new Map<Json, number>();
  const tested = new Set<Json>();
  let calls = 0;
  // `nodeType`: the node `value` is the content of (a set operation's branches and JSON_TABLE's paths are fields
  // holding a node's content directly, not a wrapped node).
  const visit = (value: unknown, inTypeName: boolean, nodeType = ""): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, inTypeName);
      return;
    }
    if (!isObject(value)) return;
    for (const [key, child] of Object.entries(value)) {
      const branch = nodeType === "SelectStmt" && (key === "larg" || key === "rarg");
      if ((key === "SelectStmt" || branch) && isObject(child)) keptPositions(child, kept);
      if (key === "RangeFunction" && isObject(child)) {
        for (const item of asList(child.functions)) {
          const call = isObject(item) && isObject(item.List) ? asList(item.List.items)[0] : undefined;
          if (isObject(call) && isObject(call.FuncCall)) fromFunctions.add(call.FuncCall);
        }
      }
      if (key === "FuncCall" && isObject(child)) {
        calls++;
        const series = isGenerateSeries(child);
        for (const arg of asList(child.args)) {
          const c = directConstant(arg);
          if (c !== undefined) arguments_.set(c, calls);
          if (c !== undefined && series) kept.add(c);
        }
      }
      if ((key === "NullTest" || key === "BooleanTest") && isObject(child)) {
        const c = directConstant(child.arg);
        if (c !== undefined) tested.add(c);
      }
      if (isNodeType(key, child) && isObject(child) && !OPAQUE_LEAVES.has(key) && !inTypeName) {
        if (!NAMING_LEAVES.has(key) && !holdsNode(child)) {
          const rows = key === "FuncCall" && (child.agg_star === true || child.over !== undefined);
          if (rows) {
            // count(*) and row_number() OVER (...) are about rows.
          } else if (fromFunctions.has(child)) {
            // A FROM item: `FROM pi() AS z` is pulled up as the constant itself (the twenty-seventh outside
            // attack built any number from `z`), and a subquery there would rename its column.
            result.unsupported = true;
          } else if (WRAPPED_LEAVES.has(key) && typeof child.location === "number" && child.location >= 0)
            result.leaves.push(child.location);
          else result.unsupported = true;
        }
      }
      if (key === "A_Const" && isObject(child)) {
        if (typeof child.location === "number" && child.location >= 0) {
          const call = arguments_.get(child);
          found.push({
            location: child.location,
            node: child,
            kept: inTypeName || kept.has(child),
            ...(call === undefined ? {} : { call }),
            ...(tested.has(child) ? { tested: true } : {}),
          });
        }
        continue;
      }
      if (key === "TypeCast" && isObject(child)) {
        const c = directConstant(child.arg);
        const typeName = isObject(child.typeName) ? child.typeName : undefined;
        const from = typeof typeName?.location === "number" ? typeName.location : -1;
        if (c !== undefined && typeof c.location === "number" && from >= 0 && from < c.location) {
          // `date '2020-01-01'`: the type name is written before the literal, so only a cast can take its place.
          const names = asList(typeName?.names).map((n) =>
            isObject(n) && isObject(n.String) ? String(n.String.sval) : "",
          );
          found.push({ location: c.location, node: c, kept: false, typedFrom: from, typeNames: names });
          visit(child.typeName, true);
          continue;
        }
      }
      const path = key === "pathspec" && (nodeType === "JsonTable" || nodeType === "JsonTableColumn");
      visit(
        child,
        inTypeName || key === "TypeName" || key === "typeName" || path,
        branch ? "SelectStmt" : key,
      );
    }
  };
  visit(tree, false);
  return result;
}

/** The type PostgreSQL gives the literal itself, so the parameter resolves as it would (`unknown`: by context). */
function literalType(node: Json): string | undefined {
  if (isObject(node.ival)) return "int4";
  if (isObject(node.fval)) {
    const text = String(node.fval.fval ?? "");
    // An integer too large for int4 scans as a float constant; PostgreSQL types it int8 when it fits.
    if (/^-?\d+$/.test(text)) {
      const n = BigInt(text);
      if (n >= -(2n ** 63n) && n < 2n ** 63n) return "int8";
    }
    return "numeric";
  }
  if (isObject(node.boolval) || node.boolval === true || node.boolval === false) return "boolean";
  if (isObject(node.bsval)) return "bit";
  if (isObject(node.sval)) return "unknown";
  return undefined;
}

/**
 * `statement` with every value the planner could estimate by made a parameter: each literal and `NULL` outside
 * the kept positions ({@link keptPositions}) becomes `$n` after the caller's `paramCount` parameters, typed as
 * PostgreSQL types the literal, and each value-making leaf ({@link WRAPPED_LEAVES}) becomes `(SELECT leaf)`. The
 * planner then estimates from a column's statistics in general (a range default, one value among `n_distinct`),
 * never from where a given value falls — nor does it see the caller's own parameters. Undefined when a literal
 * token is not accounted for by the parse tree (a `UESCAPE` clause), a leaf can be neither (`ARRAY[]`, `ROW()`, a
 * FROM function of no arguments), or the text is not one statement: the caller then has no value-blind estimate
 * and fails closed. Throws `BadRequestError` (`too_complex`) for a tree too deep to walk.
 */
export function genericStatement(statement: string, paramCount: number): GenericStatement | undefined {
  const parsed = pgParse(statement);
  if (parsed.stmts?.length !== 1) return undefined;
  const tokens = pgScan(statement);
  let surveyed: Survey;
  try {
    surveyed = survey(parsed.stmts[0]);
  } catch (error) {
    // As the analysis says of a tree too deep to walk (a 400, not a fault).
    if (error instanceof RangeError) {
      throw new BadRequestError("invalid_sql", "The statement is too deeply nested to analyze.", {
        details: { reason: "too_complex" },
        cause: error,
      });
    }
    throw error;
  }
  if (surveyed.unsupported) return undefined;
  const bytes = encoder.encode(statement);
  const separate = rewrite(bytes, tokens, surveyed, paramCount, false);
  const together = rewrite(bytes, tokens, surveyed, paramCount, true);
  if (separate === undefined || together === undefined) return undefined;
  return together.sql === separate.sql ? together : { ...together, separate };
}

/** The generic text: literals made parameters (equal ones one parameter when `together`), leaves wrapped. */
function rewrite(
  statement: Uint8Array,
  tokens: readonly PgScanToken[],
  surveyed: Survey,
  paramCount: number,
  together: boolean,
): GenericStatement | undefined {
  const byStart = new Map(tokens.map((t, i) => [t.start, i]));
  const found = [...surveyed.constants].sort((a, b) => a.location - b.location);
  const types: string[] = Array.from({ length: paramCount }, () => "unknown");
  const calls: number[] = Array.from({ length: paramCount }, () => 0);
  const numbers = new Map<string, number>();
  const spans: { start: number; end: number; text: string }[] = [];
  const covered = new Set<number>();
  for (const location of surveyed.leaves) {
    const at = byStart.get(location);
    const end = at === undefined ? undefined : leafEnd(tokens, at);
    const last = end === undefined ? undefined : tokens[end];
    if (at === undefined || end === undefined || last === undefined) return undefined;
    for (let i = at; i <= end; i++) covered.add(i);
    spans.push({ start: location, end: last.end, text: `(SELECT ${slice(statement, location, last.end)})` });
  }
  for (const constant of found) {
    const at = byStart.get(constant.location);
    if (at === undefined) return undefined;
    let last = at;
    const first = tokens[at];
    // A negative number is one constant to the parser, two tokens to the scanner.
    if ((first?.text === "-" || first?.text === "+") && tokens[at + 1] !== undefined) last = at + 1;
    const value = tokens[last];
    if (value === undefined || covered.has(last)) continue;
    const isNull = constant.node.isnull === true;
    // A keyword the grammar made a constant (EXTRACT's field, `IS NFC NORMALIZED`) is syntax, not a value; NULL
    // is a value the planner folds (`num_nulls(NULL, NULL)` is 2).
    if (!isLiteralToken(value.text, value.tokenName) && !/^(true|false|null)$/i.test(value.text)) continue;
    covered.add(last);
    if (constant.kept) continue;
    const literal = isNull ? "unknown" : literalType(constant.node);
    if (literal === undefined) return undefined;
    // `'x' IS NULL`: nothing types the argument of a test, and PostgreSQL reads an unknown literal there as text.
    const type = literal === "unknown" && constant.tested === true ? "text" : literal;
    const valueEnd = value.end;
    // NULLs are never one parameter: each takes the type of where it is.
    const key = isNull
      ? `null\u0000${constant.location}`
      : `${constant.typedFrom === undefined ? "" : slice(statement, constant.typedFrom, constant.location)}\u0000${type}\u0000${together ? slice(statement, constant.location, valueEnd) : constant.location}`;
    let number = numbers.get(key);
    if (number === undefined) {
      types.push(type);
      calls.push(constant.call ?? 0);
      number = types.length;
      numbers.set(key, number);
    }
    const param = `$${number}`;
    if (constant.typedFrom === undefined) {
      spans.push({ start: constant.location, end: valueEnd, text: param });
      continue;
    }
    // `type 'text'` (and an interval's qualifier after it) becomes `CAST($n AS type qualifier)`.
    let end = valueEnd;
    let qualifier = "";
    if (constant.typeNames?.at(-1) === "interval") {
      let next = last + 1;
      for (;;) {
        const token = tokens[next];
        if (token !== undefined && INTERVAL_FIELDS.has(token.text.toLowerCase())) {
          next++;
          continue;
        }
        const digits = tokens[next + 1];
        if (
          token?.text === "(" &&
          digits !== undefined &&
          /^\d+$/.test(digits.text) &&
          tokens[next + 2]?.text === ")"
        ) {
          covered.add(next + 1);
          next += 3;
          continue;
        }
        break;
      }
      const tail = tokens[next - 1];
      if (next > last + 1 && tail !== undefined) {
        qualifier = ` ${slice(statement, valueEnd, tail.end).trim()}`;
        end = tail.end;
      }
    }
    const typeText = slice(statement, constant.typedFrom, constant.location).trim();
    spans.push({ start: constant.typedFrom, end, text: `CAST(${param} AS ${typeText}${qualifier})` });
  }
  if (types.length > MAX_PARAMS) return undefined;
  // Every literal the scanner saw must be one the tree accounts for: none is left for the planner to read.
  for (const [i, token] of tokens.entries()) {
    if (isLiteralToken(token.text, token.tokenName) && !covered.has(i)) return undefined;
  }
  return { sql: splice(statement, spans), types, ...(calls.some((c) => c !== 0) ? { calls } : {}) };
}

/**
 * The last token of the leaf starting at token `at`: a keyword alone (`current_date`), or a name and its
 * parenthesized arguments (`pi()`, `pg_catalog.now()`, `xmlelement(name x)`, `current_timestamp(3)`).
 */
function leafEnd(tokens: readonly PgScanToken[], at: number): number | undefined {
  let open = at + 1;
  while (tokens[open]?.text === "." && tokens[open + 1] !== undefined) open += 2;
  if (tokens[open]?.text !== "(") return open === at + 1 ? at : undefined;
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const text = tokens[i]?.text;
    if (text === "(") depth++;
    else if (text === ")" && --depth === 0) return i;
  }
  return undefined;
}

/** A scanner token that is a literal value (numbers, strings of every quoting, bit strings). */
function isLiteralToken(text: string, name: string): boolean {
  if (name === "SCONST" || name === "ICONST" || name === "FCONST" || name === "USCONST") return true;
  return /^[bBxX]'/.test(text) || /^[uU]&'/.test(text) || /^[eE]'/.test(text) || /^\$[^0-9]*\$/.test(text);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The text between two byte offsets of a statement's UTF-8 bytes. */
function slice(bytes: Uint8Array, start: number, end: number): string {
  return decoder.decode(bytes.subarray(start, end));
}

/** `text` with each byte span replaced (spans do not overlap). */
function splice(bytes: Uint8Array, spans: readonly { start: number; end: number; text: string }[]): string {
  const parts: string[] = [];
  let at = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    parts.push(decoder.decode(bytes.subarray(at, span.start)), span.text);
    at = span.end;
  }
  parts.push(decoder.decode(bytes.subarray(at)));
  return parts.join("");
}

const made = new WeakMap<object, GenericStatement | null>();

/**
 * The generic form of an analyzed statement (its exact text and its parameter count), made once per analysis;
 * undefined when it has none ({@link genericStatement}).
 */
export function genericOf(analyzed: {
  readonly statement: string;
  readonly classification: { readonly paramCount: number };
}): GenericStatement | undefined {
  let generic = made.get(analyzed);
  if (generic === undefined) {
    generic = genericStatement(analyzed.statement, analyzed.classification.paramCount) ?? null;
    made.set(analyzed, generic);
  }
  return generic ?? undefined;
}
