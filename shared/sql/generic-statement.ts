// A statement with every value in it made a parameter the planner does not know: what the estimate is asked of.

import { pgParse, pgScan } from "./pg-wasm.ts";

/** A statement to estimate as PostgreSQL's generic plan (`PREPARE` with `plan_cache_mode = force_generic_plan`). */
export interface GenericStatement {
  /** The statement with each value replaced by `$n` (after the caller's own `$1..$k`, which it keeps). */
  readonly sql: string;
  /** The declared type of each `$n`: `unknown` lets PostgreSQL infer it from the context, as for the literal. */
  readonly types: readonly string[];
}

/** PostgreSQL's limit on a statement's parameters. */
const MAX_PARAMS = 65_535;

/** The interval qualifier that may follow a typed interval literal (`interval '1' day to second(3)`). */
const INTERVAL_FIELDS = new Set(["year", "month", "day", "hour", "minute", "second", "to"]);

interface Constant {
  readonly location: number;
  readonly node: Record<string, unknown>;
  /** Kept as written: a value the planner reads as syntax, not as data (see {@link keptPositions}). */
  readonly kept: boolean;
  /** The typed-literal cast it is the argument of (`date '2020-01-01'`): where the type name starts. */
  readonly typedFrom?: number;
  readonly typeNames?: readonly string[];
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
 * Where a constant keeps its text: a LIMIT/OFFSET count given directly (it caps the estimate at a number the
 * caller chose, never compares with data), an output-column number in ORDER BY, GROUP BY or DISTINCT ON (a
 * parameter there would sort or group by a constant: a smaller estimate than the statement's), anything in a type
 * name (`varchar(10)`, `interval day`) and a JSON_TABLE path (PostgreSQL takes only a literal there; it is applied
 * to each document, never compared with a column's statistics). Every other constant becomes a parameter.
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
  const grouping = (items: readonly unknown[]) => {
    for (const item of items) {
      ordinal(item);
      if (isObject(item) && isObject(item.GroupingSet)) grouping(asList(item.GroupingSet.content));
    }
  };
  grouping(asList(select.groupClause));
}

function asList(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Every A_Const of the tree with where it sits. */
function constants(tree: unknown): Constant[] {
  const found: Constant[] = [];
  const kept = new Set<Json>();
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
      if (key === "A_Const" && isObject(child)) {
        if (typeof child.location === "number" && child.location >= 0)
          found.push({ location: child.location, node: child, kept: inTypeName || kept.has(child) });
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
  return found;
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
 * `statement` with every value the planner could estimate by made a parameter: each literal outside the kept
 * positions (LIMIT/OFFSET counts, output-column numbers, type names) becomes `$n` after the caller's
 * `paramCount` parameters, typed as PostgreSQL types the literal. The planner then estimates from a column's
 * statistics in general (a range default, one value among `n_distinct`), never from where a given value falls —
 * nor does it see the caller's own parameters. `NULL` carries no value and stays. Undefined when a literal token
 * is not accounted for by the parse tree (a string continued on the next line, a `UESCAPE` clause) or the text is
 * not one statement: the caller then has no value-blind estimate and fails closed.
 */
export function genericStatement(statement: string, paramCount: number): GenericStatement | undefined {
  const parsed = pgParse(statement);
  if (parsed.stmts?.length !== 1) return undefined;
  const tokens = pgScan(statement);
  const byStart = new Map(tokens.map((t, i) => [t.start, i]));
  const found = constants(parsed.stmts[0]).sort((a, b) => a.location - b.location);
  const types: string[] = Array.from({ length: paramCount }, () => "unknown");
  // One parameter per distinct literal: a GROUP BY expression still matches its output column's.
  const numbers = new Map<string, number>();
  const spans: { start: number; end: number; text: string }[] = [];
  const covered = new Set<number>();
  for (const constant of found) {
    const at = byStart.get(constant.location);
    if (at === undefined) return undefined;
    let last = at;
    const first = tokens[at];
    // A negative number is one constant to the parser, two tokens to the scanner.
    if ((first?.text === "-" || first?.text === "+") && tokens[at + 1] !== undefined) last = at + 1;
    const value = tokens[last];
    if (constant.node.isnull === true || value === undefined) continue;
    // A keyword the grammar made a constant (EXTRACT's field, `IS NFC NORMALIZED`) is syntax, not a value.
    if (!isLiteralToken(value.text, value.tokenName) && !/^(true|false)$/i.test(value.text)) continue;
    covered.add(last);
    if (constant.kept) continue;
    const type = literalType(constant.node);
    if (type === undefined) return undefined;
    const valueEnd = value.end;
    const key = `${constant.typedFrom === undefined ? "" : slice(statement, constant.typedFrom, constant.location)}\u0000${type}\u0000${slice(statement, constant.location, valueEnd)}`;
    let number = numbers.get(key);
    if (number === undefined) {
      types.push(type);
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
  return { sql: splice(statement, spans), types };
}

/** A scanner token that is a literal value (numbers, strings of every quoting, bit strings). */
function isLiteralToken(text: string, name: string): boolean {
  if (name === "SCONST" || name === "ICONST" || name === "FCONST" || name === "USCONST") return true;
  return /^[bBxX]'/.test(text) || /^[uU]&'/.test(text) || /^[eE]'/.test(text) || /^\$[^0-9]*\$/.test(text);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The text between two byte offsets of `text`. */
function slice(text: string, start: number, end: number): string {
  return decoder.decode(encoder.encode(text).subarray(start, end));
}

/** `text` with each byte span replaced (spans do not overlap). */
function splice(text: string, spans: readonly { start: number; end: number; text: string }[]): string {
  const bytes = encoder.encode(text);
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
