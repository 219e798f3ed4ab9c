// Typed random expressions over a scope: columns, literals, parameters, functions, operators, casts and conditionals.

import { lit, type StatementContext } from "./context.ts";
import type { ScopeColumn, SqlType } from "./model.ts";

/** What an expression may contain besides plain row-level terms. */
export interface ExpressionOptions {
  /** A subquery generator (scalar, IN, EXISTS, ANY); absent at the deepest levels. */
  readonly subquery?: (type: SqlType, correlated: readonly ScopeColumn[]) => string;
}

const MAX_DEPTH = 3;

/** A random literal of `type`, often a value of world A. */
export function literal(ctx: StatementContext, type: SqlType, column?: string): string {
  switch (type) {
    case "int":
      return String(ctx.int(0, 12));
    case "numeric":
      return `${ctx.int(0, 99)}.${ctx.int(0, 9)}`;
    case "bool":
      return ctx.pick(["true", "false"]);
    case "date": {
      const v = ctx.poolValue(column ?? ctx.pick(["patients.dob", "medications.started_at"]));
      return `${lit(v ?? "2020-01-01")}::date`;
    }
    case "timestamptz": {
      const v = ctx.poolValue(column ?? "encounters.admitted_at");
      return `${lit(v ?? "2020-01-01T00:00:00Z")}::timestamptz`;
    }
    case "text": {
      if (column !== undefined || ctx.chance(0.5)) {
        const v = ctx.poolValue(column ?? ctx.pick([...ctx.pool.values.keys()]));
        if (v !== undefined && v.length <= 80) return lit(v);
      }
      return lit(
        ctx.pick(["a", "x", "1", "-", "MRN-", "555", "%", "", "Boston", "F", "M", "example.com", "J"]),
      );
    }
  }
}

function columnsOf(scope: readonly ScopeColumn[], type: SqlType): ScopeColumn[] {
  return scope.filter((c) => c.type === type);
}

/** A column of `type` from the scope, protected ones preferred; undefined when there is none. */
export function columnOf(
  ctx: StatementContext,
  scope: readonly ScopeColumn[],
  type: SqlType,
): ScopeColumn | undefined {
  const all = columnsOf(scope, type);
  if (all.length === 0) return undefined;
  const prot = all.filter((c) => c.protected);
  return prot.length > 0 && ctx.chance(0.7) ? ctx.pick(prot) : ctx.pick(all);
}

function leaf(ctx: StatementContext, type: SqlType, scope: readonly ScopeColumn[]): string {
  const column = columnOf(ctx, scope, type);
  if (column !== undefined && ctx.chance(0.8)) return column.ref;
  if ((type === "int" || type === "text") && ctx.chance(0.08)) {
    const value =
      type === "int" ? ctx.int(0, 12) : (ctx.poolValue(ctx.pick([...ctx.pool.values.keys()])) ?? "x");
    return ctx.param(value, type);
  }
  if (ctx.chance(0.05)) return `NULL::${type}`;
  return literal(ctx, type);
}

type Maker = (
  ctx: StatementContext,
  scope: readonly ScopeColumn[],
  depth: number,
  o: ExpressionOptions,
) => string;

function e(
  ctx: StatementContext,
  type: SqlType,
  scope: readonly ScopeColumn[],
  depth: number,
  o: ExpressionOptions,
) {
  return expression(ctx, type, scope, depth + 1, o);
}

const TEXT: readonly [string, Maker][] = [
  ["function:upper", (c, s, d, o) => `upper(${e(c, "text", s, d, o)})`],
  ["function:lower", (c, s, d, o) => `lower(${e(c, "text", s, d, o)})`],
  ["function:btrim", (c, s, d, o) => `btrim(${e(c, "text", s, d, o)})`],
  ["function:initcap", (c, s, d, o) => `initcap(${e(c, "text", s, d, o)})`],
  ["function:reverse", (c, s, d, o) => `reverse(${e(c, "text", s, d, o)})`],
  ["function:md5", (c, s, d, o) => `md5(${e(c, "text", s, d, o)})`],
  ["function:substr", (c, s, d, o) => `substr(${e(c, "text", s, d, o)}, ${c.int(1, 6)}, ${c.int(1, 4)})`],
  ["function:left", (c, s, d, o) => `left(${e(c, "text", s, d, o)}, ${c.int(1, 5)})`],
  ["function:right", (c, s, d, o) => `right(${e(c, "text", s, d, o)}, ${c.int(1, 5)})`],
  ["function:replace", (c, s, d, o) => `replace(${e(c, "text", s, d, o)}, '-', '')`],
  ["function:translate", (c, s, d, o) => `translate(${e(c, "text", s, d, o)}, '0123456789', 'abcdefghij')`],
  [
    "function:split_part",
    (c, s, d, o) => `split_part(${e(c, "text", s, d, o)}, ${c.pick(["'-'", "'@'", "' '"])}, ${c.int(1, 2)})`,
  ],
  ["function:regexp_replace", (c, s, d, o) => `regexp_replace(${e(c, "text", s, d, o)}, '[0-9]', '#', 'g')`],
  ["function:lpad", (c, s, d, o) => `lpad(${e(c, "text", s, d, o)}, ${c.int(3, 14)}, '*')`],
  ["function:repeat", (c, s, d, o) => `repeat(${e(c, "text", s, d, o)}, 2)`],
  ["function:chr", (c, s, d, o) => `chr(65 + (${e(c, "int", s, d, o)}) % 26)`],
  [
    "function:substring",
    (c, s, d, o) => `substring(${e(c, "text", s, d, o)} from ${c.int(1, 5)} for ${c.int(1, 3)})`,
  ],
  ["function:format", (c, s, d, o) => `format('%s/%s', ${e(c, "text", s, d, o)}, ${e(c, "text", s, d, o)})`],
  ["function:concat", (c, s, d, o) => `concat(${e(c, "text", s, d, o)}, ${e(c, "text", s, d, o)})`],
  [
    "function:concat_ws",
    (c, s, d, o) => `concat_ws('-', ${e(c, "text", s, d, o)}, ${e(c, "text", s, d, o)})`,
  ],
  [
    "function:to_char",
    (c, s, d, o) =>
      `to_char(${e(c, "date", s, d, o)}, ${c.pick(["'YYYY'", "'MM'", "'YYYY-MM-DD'", "'DD'"])})`,
  ],
  ["function:quote_literal", (c, s, d, o) => `quote_literal(${e(c, "text", s, d, o)})`],
  ["operator:||", (c, s, d, o) => `${e(c, "text", s, d, o)} || ${e(c, "text", s, d, o)}`],
  ["coalesce", (c, s, d, o) => `COALESCE(${e(c, "text", s, d, o)}, ${e(c, "text", s, d, o)})`],
  ["nullif", (c, s, d, o) => `NULLIF(${e(c, "text", s, d, o)}, ${e(c, "text", s, d, o)})`],
  ["greatest", (c, s, d, o) => `GREATEST(${e(c, "text", s, d, o)}, ${e(c, "text", s, d, o)})`],
  ["least", (c, s, d, o) => `LEAST(${e(c, "text", s, d, o)}, ${e(c, "text", s, d, o)})`],
  [
    "case_when",
    (c, s, d, o) =>
      `CASE WHEN ${e(c, "bool", s, d, o)} THEN ${e(c, "text", s, d, o)} ELSE ${e(c, "text", s, d, o)} END`,
  ],
  [
    "case_simple",
    (c, s, d, o) => `CASE ${e(c, "text", s, d, o)} WHEN ${literal(c, "text")} THEN 'yes' ELSE 'no' END`,
  ],
  ["cast:int->text", (c, s, d, o) => `(${e(c, "int", s, d, o)})::text`],
  ["cast:date->text", (c, s, d, o) => `(${e(c, "date", s, d, o)})::text`],
  ["cast:timestamptz->text", (c, s, d, o) => `(${e(c, "timestamptz", s, d, o)})::text`],
  ["cast:varchar(n)", (c, s, d, o) => `CAST(${e(c, "text", s, d, o)} AS varchar(${c.int(2, 6)}))::text`],
  ["cast:char(n)", (c, s, d, o) => `(${e(c, "text", s, d, o)})::char(${c.int(2, 6)})::text`],
  [
    "array_subscript",
    (c, s, d, o) => `(ARRAY[${e(c, "text", s, d, o)}, ${e(c, "text", s, d, o)}])[${c.int(1, 2)}]`,
  ],
  ["string_to_array", (c, s, d, o) => `(string_to_array(${e(c, "text", s, d, o)}, '-'))[${c.int(1, 3)}]`],
  ["json_build", (c, s, d, o) => `json_build_object('v', ${e(c, "text", s, d, o)})::text`],
  ["row_constructor", (c, s, d, o) => `ROW(${e(c, "text", s, d, o)}, 1)::text`],
];

const INT: readonly [string, Maker][] = [
  ["function:length", (c, s, d, o) => `length(${e(c, "text", s, d, o)})`],
  ["function:octet_length", (c, s, d, o) => `octet_length(${e(c, "text", s, d, o)})`],
  ["function:ascii", (c, s, d, o) => `ascii(${e(c, "text", s, d, o)})`],
  [
    "function:strpos",
    (c, s, d, o) => `strpos(${e(c, "text", s, d, o)}, ${c.pick(["'-'", "'1'", "'a'", "'@'"])})`,
  ],
  ["function:position", (c, s, d, o) => `position('5' in ${e(c, "text", s, d, o)})`],
  ["operator:+", (c, s, d, o) => `${e(c, "int", s, d, o)} + ${e(c, "int", s, d, o)}`],
  ["operator:*", (c, s, d, o) => `${e(c, "int", s, d, o)} * ${c.int(1, 3)}`],
  ["operator:%", (c, s, d, o) => `${e(c, "int", s, d, o)} % ${c.int(2, 7)}`],
  ["function:abs", (c, s, d, o) => `abs(${e(c, "int", s, d, o)})`],
  [
    "extract",
    (c, s, d, o) => `extract(${c.pick(["year", "month", "day", "dow"])} from ${e(c, "date", s, d, o)})::int`,
  ],
  ["operator:date-date", (c, s, d, o) => `(${e(c, "date", s, d, o)} - ${e(c, "date", s, d, o)})`],
  ["coalesce", (c, s, d, o) => `COALESCE(${e(c, "int", s, d, o)}, ${e(c, "int", s, d, o)})`],
  ["nullif", (c, s, d, o) => `NULLIF(${e(c, "int", s, d, o)}, ${c.int(0, 5)})`],
  ["greatest", (c, s, d, o) => `GREATEST(${e(c, "int", s, d, o)}, ${e(c, "int", s, d, o)})`],
  ["case_when", (c, s, d, o) => `CASE WHEN ${e(c, "bool", s, d, o)} THEN 1 ELSE 0 END`],
  ["cast:text->int", (c, s, d, o) => `(${e(c, "text", s, d, o)})::int`],
  ["cast:bool->int", (c, s, d, o) => `(${e(c, "bool", s, d, o)})::int`],
  [
    "function:num_nonnulls",
    (c, s, d, o) => `num_nonnulls(${e(c, "text", s, d, o)}, ${e(c, "int", s, d, o)})`,
  ],
];

const DATE: readonly [string, Maker][] = [
  ["operator:date+int", (c, s, d, o) => `${e(c, "date", s, d, o)} + ${c.int(0, 400)}`],
  [
    "function:date_trunc",
    (c, s, d, o) => `date_trunc(${c.pick(["'month'", "'year'"])}, ${e(c, "date", s, d, o)})::date`,
  ],
  ["cast:timestamptz->date", (c, s, d, o) => `(${e(c, "timestamptz", s, d, o)})::date`],
  ["coalesce", (c, s, d, o) => `COALESCE(${e(c, "date", s, d, o)}, ${e(c, "date", s, d, o)})`],
  ["greatest", (c, s, d, o) => `GREATEST(${e(c, "date", s, d, o)}, ${e(c, "date", s, d, o)})`],
  ["function:make_date", (c, s, d, o) => `make_date(extract(year from ${e(c, "date", s, d, o)})::int, 1, 1)`],
  ["cast:text->date", (c, s, d, o) => `(${e(c, "text", s, d, o)})::date`],
];

const TIMESTAMP: readonly [string, Maker][] = [
  ["operator:timestamptz+interval", (c, s, d, o) => `${e(c, "timestamptz", s, d, o)} + interval '1 day'`],
  ["function:date_trunc", (c, s, d, o) => `date_trunc('day', ${e(c, "timestamptz", s, d, o)})`],
  ["coalesce", (c, s, d, o) => `COALESCE(${e(c, "timestamptz", s, d, o)}, ${e(c, "timestamptz", s, d, o)})`],
  ["cast:date->timestamptz", (c, s, d, o) => `(${e(c, "date", s, d, o)})::timestamptz`],
];

const COMPARISONS = ["=", "<>", "<", ">", "<=", ">="] as const;

const BOOL: readonly [string, Maker][] = [
  ...(["text", "int", "date"] as const).map((t): [string, Maker] => [
    `compare:${t}`,
    (c, s, d, o) => `${e(c, t, s, d, o)} ${c.pick(COMPARISONS)} ${e(c, t, s, d, o)}`,
  ]),
  [
    "like",
    (c, s, d, o) =>
      `${e(c, "text", s, d, o)} ${c.pick(["LIKE", "ILIKE", "NOT LIKE"])} ${lit(`${c.pick(["1", "2", "M", "a", "J", "%5"])}%`)}`,
  ],
  [
    "regex",
    (c, s, d, o) => `${e(c, "text", s, d, o)} ~ ${c.pick(["'^[0-4]'", "'5$'", "'^MRN-0'", "'[aeiou]{2}'"])}`,
  ],
  ["similar", (c, s, d, o) => `${e(c, "text", s, d, o)} SIMILAR TO '%(1|2)%'`],
  [
    "null_test",
    (c, s, d, o) => `${e(c, c.pick(["text", "date"] as const), s, d, o)} IS ${c.pick(["NULL", "NOT NULL"])}`,
  ],
  ["distinct_from", (c, s, d, o) => `${e(c, "text", s, d, o)} IS DISTINCT FROM ${e(c, "text", s, d, o)}`],
  [
    "between",
    (c, s, d, o) => `${e(c, "text", s, d, o)} BETWEEN ${literal(c, "text")} AND ${literal(c, "text")}`,
  ],
  ["in_list", (c, s, d, o) => `${e(c, "text", s, d, o)} IN (${literal(c, "text")}, ${literal(c, "text")})`],
  [
    "any_array",
    (c, s, d, o) => `${e(c, "text", s, d, o)} = ANY (ARRAY[${literal(c, "text")}, ${literal(c, "text")}])`,
  ],
  [
    "function:starts_with",
    (c, s, d, o) => `starts_with(${e(c, "text", s, d, o)}, ${c.pick(["'1'", "'M'", "'J'"])})`,
  ],
  ["not", (c, s, d, o) => `NOT (${e(c, "bool", s, d, o)})`],
  ["and", (c, s, d, o) => `(${e(c, "bool", s, d, o)} AND ${e(c, "bool", s, d, o)})`],
  ["or", (c, s, d, o) => `(${e(c, "bool", s, d, o)} OR ${e(c, "bool", s, d, o)})`],
];

const NUMERIC: readonly [string, Maker][] = [
  ["function:round", (c, s, d, o) => `round((${e(c, "int", s, d, o)})::numeric / 3, 2)`],
];

const MAKERS: Readonly<Record<SqlType, readonly [string, Maker][]>> = {
  text: TEXT,
  int: INT,
  date: DATE,
  timestamptz: TIMESTAMP,
  bool: BOOL,
  numeric: NUMERIC,
};

function subqueryExpression(
  ctx: StatementContext,
  type: SqlType,
  scope: readonly ScopeColumn[],
  depth: number,
  o: ExpressionOptions,
): string | undefined {
  const make = o.subquery;
  if (make === undefined) return undefined;
  if (type !== "bool") {
    ctx.use("subquery:scalar");
    return `(${make(type, scope)})`;
  }
  const kind = ctx.pick(["exists", "in", "any", "not_in"] as const);
  ctx.use(`subquery:${kind}`);
  if (kind === "exists") return `EXISTS (${make("int", scope)})`;
  const t = ctx.pick(["text", "int"] as const);
  const probe = e(ctx, t, scope, depth, o);
  if (kind === "in") return `${probe} IN (${make(t, scope)})`;
  if (kind === "not_in") return `${probe} NOT IN (${make(t, scope)})`;
  return `${probe} = ANY (${make(t, scope)})`;
}

/** A random expression of `type` over `scope`. */
export function expression(
  ctx: StatementContext,
  type: SqlType,
  scope: readonly ScopeColumn[],
  depth = 0,
  o: ExpressionOptions = {},
): string {
  if (depth >= MAX_DEPTH || (type !== "bool" && ctx.chance(0.45))) {
    if (type === "bool") return `${leaf(ctx, "text", scope)} IS NOT NULL`;
    return leaf(ctx, type, scope);
  }
  if (depth < 2 && ctx.chance(0.06)) {
    const sub = subqueryExpression(ctx, type, scope, depth, o);
    if (sub !== undefined) return sub;
  }
  const [feature, make] = ctx.pick(MAKERS[type]);
  ctx.use(feature);
  return make(ctx, scope, depth, o);
}
