// Statements built around one construct applied to a protected column (each a category of the run's report).

import { lit, type StatementContext } from "./context.ts";
import { type SqlType, TABLES, type TableModel } from "./model.ts";

/** The simple frame a focused statement is built in: one restricted table and the protected column it probes. */
export interface Frame {
  readonly table: TableModel;
  readonly a: string;
  /** `patients p1 WHERE p1.id <= 3` split in its two parts. */
  readonly from: string;
  readonly where: string;
  /** The protected column (`p1.ssn`), its name, its `table.column` and type. */
  readonly x: string;
  readonly column: string;
  readonly xColumn: string;
  readonly xType: SqlType;
  /** A second column of the table (plain or protected). */
  readonly y: string;
  /** A whole value of world A of the protected column (or a placeholder when the pool has none). */
  readonly value: string;
}

/** Builds a frame over a table that has a protected column (patients when none has). */
export function frame(ctx: StatementContext): Frame {
  const candidates = TABLES.filter((t) =>
    t.columns.some((c) => ctx.protectedColumns.has(`${t.name}.${c.name}`)),
  );
  const weighted = candidates.flatMap((t) => (t.name === "patients" ? [t, t, t, t] : [t]));
  const table = weighted.length > 0 ? ctx.pick(weighted) : (TABLES[0] as TableModel);
  const a = ctx.name(table.alias);
  const prot = table.columns.filter((c) => ctx.protectedColumns.has(`${table.name}.${c.name}`));
  const x = prot.length > 0 ? ctx.pick(prot) : (table.columns[1] as TableModel["columns"][number]);
  const y = ctx.pick(table.columns.filter((c) => c.name !== x.name));
  const xColumn = `${table.name}.${x.name}`;
  const k = ctx.focusLimit();
  return {
    table,
    a,
    from: `${table.name} ${a}`,
    where: `${a}.${table.patientKey} <= ${k}`,
    x: `${a}.${x.name}`,
    column: x.name,
    xColumn,
    xType: x.type,
    y: `${a}.${y.name}`,
    value: ctx.poolValue(xColumn) ?? "x",
  };
}

type Maker = (ctx: StatementContext, f: Frame) => string;

const textOf = (f: Frame): string => (f.xType === "text" ? f.x : `${f.x}::text`);
const valueLiteral = (f: Frame): string =>
  f.xType === "text" ? lit(f.value) : `${lit(f.value)}::${f.xType === "int" ? "int" : f.xType}`;
const select = (f: Frame, list: string, tail = ""): string =>
  `SELECT ${list} FROM ${f.from} WHERE ${f.where}${tail}`;
const other = (ctx: StatementContext, f: Frame): string => lit(ctx.poolValue(f.xColumn) ?? f.value);

const FUNCTIONS = [
  "substr({x}, 1, 3)",
  "substr({x}, {i}, 1)",
  "md5({x})",
  "length({x})",
  "octet_length({x})",
  "ascii({x})",
  "reverse({x})",
  "left({x}, 4)",
  "right({x}, 4)",
  "split_part({x}, '-', 1)",
  "regexp_replace({x}, '[0-9]', '#', 'g')",
  "translate({x}, '0123456789', 'abcdefghij')",
  "encode(convert_to({x}, 'UTF8'), 'hex')",
  "encode(sha256(convert_to({x}, 'UTF8')), 'hex')",
  "strpos({x}, '5')",
  "initcap({x})",
  "quote_ident({x})",
  "format('%I', {x})",
  "to_hex(ascii({x}))",
  "overlay({x} placing 'x' from 1 for 1)",
  "lpad({x}, 20, '.')",
  "repeat({x}, 2)",
  "bit_length({x})",
  "to_ascii({x})",
  "starts_with({x}, '1')",
  "({x})[1:3]",
];

const TOTAL = [
  "upper({x})",
  "lower({x})",
  "btrim({x})",
  "{x} || ''",
  "'<' || {x} || '>'",
  "concat({x}, '!')",
  "concat_ws('/', {x}, {y})",
  "COALESCE({x}, 'none')",
  "CASE WHEN {y} IS NULL THEN {x} ELSE {x} END",
  "{x}::varchar",
  "{x}::text",
  "CAST({x} AS name)::text",
];

const CASTS = [
  "{x}::int",
  "{x}::numeric",
  "{x}::date",
  "{x}::bytea",
  "{x}::char(3)",
  "{x}::varchar(3)",
  "{x}::json",
  "({x})::int::text",
  "{x}::timestamp",
  "to_number({x}, '999')",
  "to_date({x}, 'YYYY')",
];

const DATE_FUNCTIONS = [
  "extract(month from {x})",
  "extract(day from {x})",
  "to_char({x}, 'MM-DD')",
  "date_part('doy', {x})",
  "{x} - date '1900-01-01'",
  "age(date '2025-01-01', {x})",
  "date_trunc('month', {x})",
  "{x} + 1",
  "{x}::timestamp",
  "make_date(2000, extract(month from {x})::int, 1)",
];

const PREDICATES = [
  "{x} LIKE '1%'",
  "{x} LIKE '%5'",
  "{x} ILIKE '%a%'",
  "{x} < {v}",
  "{x} >= {v}",
  "{x} ~ '^[0-4]'",
  "{x} SIMILAR TO '%(1|3)%'",
  "length({x}) > 10",
  "substr({x}, 1, 1) = '5'",
  "{x} BETWEEN '1' AND '5'",
  "{x} IS DISTINCT FROM {v}",
  "{x} <> {v}",
  "{x} > {y}",
  "starts_with({x}, '4')",
  "{x} = {v} OR {y} IS NULL",
  "NOT ({x} = {v})",
  "({x} = {v}) IS TRUE",
  "upper({x}) = upper({v})",
  "{x} || '' = {v}",
  "{x} IN ({v}, {y})",
  "{x} = ANY ('{{v0},x}'::text[])",
];

function fill(template: string, ctx: StatementContext, f: Frame): string {
  return template
    .replaceAll("{x}", textOf(f))
    .replaceAll("{y}", `${f.y}::text`)
    .replaceAll("{v0}", f.value.replaceAll("'", "''").replaceAll(",", ""))
    .replaceAll("{v}", lit(f.value))
    .replaceAll("{i}", String(ctx.int(1, 6)));
}

/** The frame moved to a protected date column of its table (or `dob`), for date functions. */
function dateFrame(ctx: StatementContext, f: Frame): Frame {
  if (f.xType === "date") return f;
  const dates = f.table.columns.filter(
    (c) => c.type === "date" && ctx.protectedColumns.has(`${f.table.name}.${c.name}`),
  );
  const table = dates.length > 0 ? f.table : (TABLES[0] as TableModel);
  const column = dates.length > 0 ? ctx.pick(dates).name : "dob";
  const a = table === f.table ? f.a : ctx.name("p");
  const xColumn = `${table.name}.${column}`;
  return {
    ...f,
    table,
    a,
    from: `${table.name} ${a}`,
    where: `${a}.${table.patientKey} <= ${ctx.focusLimit()}`,
    x: `${a}.${column}`,
    column,
    xColumn,
    xType: "date",
    value: ctx.poolValue(xColumn) ?? "2000-01-01",
  };
}

function fillDate(template: string, f: Frame): string {
  return template.replaceAll("{x}", f.xType === "date" ? f.x : `${f.x}::date`);
}

const MAKERS: readonly [string, Maker][] = [
  ["function", (c, f) => select(f, `${f.a}.id, ${fill(c.pick(FUNCTIONS), c, f)}`)],
  [
    "function:date",
    (c, f) => {
      const dated = dateFrame(c, f);
      return select(dated, `${dated.a}.id, ${fillDate(c.pick(DATE_FUNCTIONS), dated)}`);
    },
  ],
  ["total_operation", (c, f) => select(f, `${f.a}.id, ${fill(c.pick(TOTAL), c, f)}`)],
  ["cast", (c, f) => select(f, `${f.a}.id, ${c.pick(CASTS).replaceAll("{x}", f.x)}`)],
  [
    "operator",
    (c, f) =>
      select(
        f,
        `${f.a}.id, ${fill(c.pick(["{x} = {v}", "{x} < {y}", "{x} || {y}", "{x} > 'M'", "{x} ~ '5'", "{x} LIKE {v}"]), c, f)}`,
      ),
  ],
  [
    "predicate:where",
    (c, f) => `SELECT ${f.a}.id FROM ${f.from} WHERE ${f.where} AND ${fill(c.pick(PREDICATES), c, f)}`,
  ],
  [
    "predicate:on",
    (c, f) => {
      const e = c.name("e");
      return `SELECT ${f.a}.id, ${e}.id FROM ${f.from} JOIN encounters ${e} ON ${e}.patient_id = ${f.a}.${f.table.patientKey} AND ${fill(c.pick(PREDICATES), c, f)} WHERE ${f.where}`;
    },
  ],
  [
    "predicate:having",
    (c, f) =>
      select(
        f,
        "count(*)",
        ` GROUP BY ${f.a}.${f.table.patientKey} HAVING ${c.pick(["max({x}) > '5'", "min({x}) LIKE '1%'", "count(DISTINCT {x}) > 0", "bool_or({x} LIKE '%1%')"]).replaceAll("{x}", textOf(f))}`,
      ),
  ],
  ["predicate:filter", (c, f) => select(f, `count(*) FILTER (WHERE ${fill(c.pick(PREDICATES), c, f)})`)],
  [
    "case:when",
    (c, f) => select(f, `${f.a}.id, CASE WHEN ${fill(c.pick(PREDICATES), c, f)} THEN 'yes' ELSE 'no' END`),
  ],
  [
    "case:simple",
    (_c, f) =>
      select(f, `${f.a}.id, CASE ${textOf(f)} WHEN ${lit(f.value)} THEN 1 WHEN 'x' THEN 2 ELSE 0 END`),
  ],
  [
    "group_by",
    (c, f) => {
      const key = c.pick([textOf(f), `substr(${textOf(f)}, 1, 1)`]);
      const list = c.pick(["count(*)", `${key}, count(*)`]);
      return select(f, list, ` GROUP BY ${list === "count(*)" || c.chance(0.5) ? key : "1"}`);
    },
  ],
  [
    "distinct",
    (c, f) =>
      select(f, c.pick([`DISTINCT ${textOf(f)}`, `DISTINCT substr(${textOf(f)}, 1, 2)`, `count(*) OVER ()`])),
  ],
  [
    "distinct_on",
    (_c, f) => select(f, `DISTINCT ON (${textOf(f)}) ${f.a}.id`, ` ORDER BY ${textOf(f)}, ${f.a}.id`),
  ],
  [
    "order_by",
    (c, f) =>
      select(
        f,
        `${f.a}.id`,
        ` ORDER BY ${c.pick([textOf(f), `substr(${textOf(f)}, 5)`, `${textOf(f)} DESC`, `reverse(${textOf(f)})`])}`,
      ),
  ],
  [
    "order_by:aggregate",
    (c, f) =>
      select(
        f,
        c.pick([
          `string_agg(${f.a}.id::text, ',' ORDER BY ${textOf(f)})`,
          `array_agg(${f.a}.id ORDER BY ${textOf(f)})`,
          `json_agg(${f.a}.id ORDER BY ${textOf(f)})`,
        ]),
      ),
  ],
  [
    "window:partition",
    (_c, f) => select(f, `${f.a}.id, count(*) OVER (PARTITION BY substr(${textOf(f)}, 1, 1))`),
  ],
  [
    "window:order",
    (c, f) =>
      select(
        f,
        `${f.a}.id, ${c.pick(["row_number()", "rank()", `lag(${f.a}.id)`, `lead(${f.a}.id)`, "percent_rank()"])} OVER (ORDER BY ${textOf(f)})`,
        ` ORDER BY ${f.a}.id`,
      ),
  ],
  [
    "window:frame",
    (c, f) =>
      select(
        f,
        `${f.a}.id, ${c.pick(["sum", "count", "max"])}(${f.a}.id) OVER (ORDER BY ${f.a}.id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), min(${textOf(f)}) OVER (ORDER BY ${f.a}.id ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)`,
        ` ORDER BY ${f.a}.id`,
      ),
  ],
  [
    "window:range",
    (_c, f) =>
      f.xType === "date"
        ? select(
            f,
            `${f.a}.id, count(*) OVER (ORDER BY ${f.x} RANGE BETWEEN interval '400 days' PRECEDING AND CURRENT ROW)`,
            ` ORDER BY ${f.a}.id`,
          )
        : select(
            f,
            `${f.a}.id, first_value(${f.a}.id) OVER (PARTITION BY ${textOf(f)} ORDER BY ${f.a}.id)`,
            ` ORDER BY ${f.a}.id`,
          ),
  ],
  [
    "setop",
    (c, f) => {
      const op = c.pick(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]);
      return c.chance(0.5)
        ? `${select(f, textOf(f))} ${op} SELECT ${other(c, f)}`
        : `SELECT count(*) FROM (${select(f, textOf(f))} ${op} SELECT ${other(c, f)}) s`;
    },
  ],
  [
    "setop:guess",
    (c, f) => `${select(f, textOf(f))} UNION ALL SELECT ${lit(c.poolValue(f.xColumn) ?? f.value)}`,
  ],
  [
    "values",
    (c, f) =>
      `SELECT ${c.pick(["count(DISTINCT v.x)", "v.x", "max(v.x)"])} FROM ${f.from}, LATERAL (VALUES (${textOf(f)}), (${other(c, f)})) v(x) WHERE ${f.where}`,
  ],
  [
    "srf_argument",
    (c, f) =>
      c.pick([
        `SELECT ${f.a}.id, generate_series(1, ascii(${textOf(f)}) % 4) FROM ${f.from} WHERE ${f.where}`,
        `SELECT count(*) FROM ${f.from}, generate_series(1, length(${textOf(f)})) g WHERE ${f.where}`,
        `SELECT ${f.a}.id, unnest(string_to_array(${textOf(f)}, '-')) FROM ${f.from} WHERE ${f.where}`,
        `SELECT ${f.a}.id, regexp_split_to_table(${textOf(f)}, '') FROM ${f.from} WHERE ${f.where}`,
        `SELECT ${f.a}.id, x FROM ${f.from}, unnest(ARRAY[${textOf(f)}, 'x']) x WHERE ${f.where}`,
        `SELECT ${f.a}.id, m FROM ${f.from}, regexp_matches(${textOf(f)}, '[0-9]', 'g') m WHERE ${f.where}`,
      ]),
  ],
  [
    "limit_offset",
    (c, f) => {
      const probe = `(SELECT ${c.pick(["length", "ascii"])}(${f.column}::text) % 7 FROM ${f.table.name} WHERE ${f.table.patientKey} = ${c.int(1, 3)} LIMIT 1)`;
      return `SELECT id FROM ${f.table.name} WHERE ${f.table.patientKey} <= 5 ORDER BY id ${c.pick([`LIMIT ${probe}`, `OFFSET ${probe}`, `FETCH FIRST ${probe} ROWS ONLY`])}`;
    },
  ],
  [
    "tablesample",
    (c, f) =>
      `SELECT count(*) FROM ${f.table.name} ${f.a} TABLESAMPLE ${c.pick(["BERNOULLI", "SYSTEM"])} (${c.pick(["50", `(SELECT ascii(${f.column}::text) % 100 FROM ${f.table.name} LIMIT 1)`])}) REPEATABLE (${c.pick(["1", `(SELECT length(${f.column}::text) FROM ${f.table.name} LIMIT 1)`])}) WHERE ${f.where}`,
  ],
  [
    "document_table",
    (c, f) =>
      c.pick([
        `SELECT ${f.a}.id, x.v FROM ${f.from}, XMLTABLE('/a' PASSING xmlelement(name a, ${textOf(f)}) COLUMNS v text PATH 'substring(., 1, 3)') x WHERE ${f.where}`,
        `SELECT ${f.a}.id, j.v FROM ${f.from}, JSON_TABLE(jsonb_build_object('a', ${textOf(f)}), '$' COLUMNS (v text PATH '$.a')) j WHERE ${f.where}`,
        `SELECT ${f.a}.id, j.k FROM ${f.from}, jsonb_each_text(jsonb_build_object(${textOf(f)}, 1)) j(k, v) WHERE ${f.where}`,
      ]),
  ],
  [
    "subquery:in",
    (c, f) =>
      `SELECT ${f.a}.id FROM ${f.from} WHERE ${f.where} AND ${textOf(f)} ${c.pick(["IN", "NOT IN"])} (SELECT ${c.pick([lit(f.value), `substr(${textOf(f)}, 1, 0) || ${lit(f.value)}`])})`,
  ],
  [
    "subquery:any",
    (c, f) =>
      `SELECT ${f.a}.id FROM ${f.from} WHERE ${f.where} AND ${textOf(f)} ${c.pick(["=", "<", ">"])} ANY (SELECT ${lit(c.poolValue(f.xColumn) ?? f.value)} UNION SELECT 'z')`,
  ],
  [
    "subquery:exists",
    (c, f) => {
      const b = c.name(f.table.alias);
      const col = f.column;
      return `SELECT ${f.a}.id FROM ${f.from} WHERE ${f.where} AND EXISTS (SELECT 1 FROM ${f.table.name} ${b} WHERE ${b}.${col} ${c.pick(["<", ">", "="])} ${f.x} AND ${b}.id <> ${f.a}.id)`;
    },
  ],
  [
    "subquery:scalar",
    (c, f) =>
      select(
        f,
        `${f.a}.id, (SELECT ${c.pick(["max", "min"])}(${textOf({ ...f, x: `q.${f.column}` })}) FROM ${f.table.name} q WHERE q.${f.table.patientKey} <= 3 AND q.id <> ${f.a}.id)`,
      ),
  ],
  ["count_distinct", (_c, f) => select(f, `count(DISTINCT ${f.x}), count(${f.x}), count(*)`)],
  [
    "whole_row",
    (c, f) =>
      select(
        f,
        c.pick([
          `row_to_json(${f.a})`,
          `${f.a}::text`,
          `to_jsonb(${f.a}) ->> 'id'`,
          `${f.a}`,
          `md5(${f.a}::text)`,
          `ROW(${f.a}.*)::text`,
          `hashtext(${f.a}::text)`,
          `(${f.a}).id`,
        ]),
      ),
  ],
  [
    "json_xml_builder",
    (c, f) =>
      select(
        f,
        c.pick([
          `json_build_object('k', ${f.x})`,
          `jsonb_build_array(${f.x})`,
          `to_json(${f.x})`,
          `xmlforest(${f.x} AS k)`,
          `xmlelement(name k, ${f.x})`,
          `json_agg(${f.x})`,
          `jsonb_object_agg(${f.a}.id, ${f.x})`,
        ]),
      ),
  ],
  [
    "array_row_constructor",
    (c, f) =>
      select(
        f,
        c.pick([
          `ARRAY[${f.x}]`,
          `ROW(${f.x}, 1)`,
          `(ARRAY[${f.x}, ${f.x}])[2]`,
          `array_agg(${f.x})`,
          `ARRAY(SELECT ${f.x})`,
          `(ROW(${f.x}, 1)).f1`,
        ]),
      ),
  ],
  [
    "null_test",
    (c, f) =>
      c.chance(0.5)
        ? `SELECT ${f.a}.id FROM ${f.from} WHERE ${f.where} AND ${f.x} IS ${c.pick(["NULL", "NOT NULL"])}`
        : select(f, `${f.a}.id, ${f.x} IS NULL`),
  ],
  [
    "equi_join",
    (c, f) => {
      const b = c.name(f.table.alias);
      const col = f.column;
      return c.pick([
        `SELECT ${f.a}.id, ${b}.id FROM ${f.from} JOIN ${f.table.name} ${b} ON ${f.x} = ${b}.${col} WHERE ${f.where} AND ${b}.${f.table.patientKey} <= 8`,
        `SELECT ${f.a}.id, ${b}.id FROM ${f.from} JOIN ${f.table.name} ${b} USING (${col}) WHERE ${f.where}`,
        `SELECT ${f.a}.id, ${b}.id FROM ${f.from}, ${f.table.name} ${b} WHERE ${f.where} AND ${b}.${f.table.patientKey} <= 8 AND ${f.x} = ${b}.${col}`,
        `SELECT ${f.a}.id, ${b}.id FROM ${f.from} JOIN ${f.table.name} ${b} ON ${f.x} = ${b}.${c.pick(
          f.table.columns
            .filter((x) => x.type === f.xType && x.name !== col)
            .map((x) => x.name)
            .concat([col]),
        )} WHERE ${f.where} AND ${b}.${f.table.patientKey} <= 8`,
      ]);
    },
  ],
  ["count", (c, f) => select(f, c.pick([`count(${f.x})`, "count(*)", `count(${f.x}), count(*)`]))],
  [
    "error_channel",
    (c, f) =>
      select(
        f,
        `${f.a}.id, ${c.pick([`1 / (length(${textOf(f)}) - 11)`, `(${textOf(f)})::int`, `to_date(${textOf(f)}, 'MM/DD/YYYY')`, `CASE WHEN ${textOf(f)} LIKE '1%' THEN 1 / 0 END`, `(${textOf(f)})::numeric`, `chr(ascii(${textOf(f)}) - 48)`])}`,
      ),
  ],
  [
    "literal_echo",
    (c, f) =>
      c.pick([
        `SELECT ${lit(f.value)}`,
        select(f, `${f.a}.id, ${lit(f.value)}`),
        select(f, `${f.a}.id, ${f.x} = ${valueLiteral(f)}`),
      ]),
  ],
  ["lookup", (c, f) => lookupStatement(c, f, true)],
  ["lookup:near_miss", (c, f) => lookupStatement(c, f, false)],
  ["recursive", (c, f) => recursiveStatement(c, f)],
];

/** A lookup by whole values of A (allowed shapes) or a near-miss of one (shapes that are not lookups). */
function lookupStatement(ctx: StatementContext, f: Frame, exact: boolean): string {
  const v = valueLiteral(f);
  const w = `${lit(ctx.poolValue(f.xColumn) ?? f.value)}${f.xType === "text" ? "" : `::${f.xType}`}`;
  const list = `${f.a}.id, ${f.y}, ${f.x}`;
  if (exact) {
    const shape = ctx.pick([
      "eq",
      "eq_reversed",
      "in",
      "any",
      "param",
      "cast",
      "subquery",
      "cte",
      "join_on",
      "date_keyword",
    ] as const);
    ctx.use(`lookup:${shape}`);
    const where = `${f.table.patientKey === "id" ? `${f.a}.id` : `${f.a}.patient_id`} <= 40`;
    switch (shape) {
      case "eq":
        return `SELECT ${list} FROM ${f.from} WHERE ${f.x} = ${v} AND ${where}`;
      case "eq_reversed":
        return `SELECT ${list} FROM ${f.from} WHERE ${v} = ${f.x}`;
      case "in":
        return `SELECT ${list} FROM ${f.from} WHERE ${f.x} IN (${v}, ${w})`;
      case "any":
        return `SELECT ${list} FROM ${f.from} WHERE ${f.x} = ANY (ARRAY[${v}, ${w}])`;
      case "param":
        return `SELECT ${list} FROM ${f.from} WHERE ${f.x} = ${ctx.param(f.value, f.xType)} AND ${where}`;
      case "cast":
        return `SELECT ${list} FROM ${f.from} WHERE ${f.x} = ${lit(f.value)}::${f.xType === "timestamptz" ? "timestamptz" : f.xType === "date" ? "date" : "text"}`;
      case "subquery":
        return `SELECT s.* FROM (SELECT ${f.x} AS k, ${f.a}.id FROM ${f.from} WHERE ${where}) s WHERE s.k = ${v}`;
      case "cte":
        return `WITH c AS (SELECT ${f.x} AS k, ${f.a}.id AS n FROM ${f.from}) SELECT n, k FROM c WHERE k IN (${v}) ORDER BY n`;
      case "join_on": {
        const m = ctx.name("m");
        const key = f.table.name === "patients" ? `${f.a}.id` : `${f.a}.patient_id`;
        return `SELECT ${f.a}.id, ${m}.drug FROM ${f.from} JOIN medications ${m} ON ${m}.patient_id = ${key} AND ${f.x} = ${v} ORDER BY ${m}.id`;
      }
      case "date_keyword":
        return f.xType === "date"
          ? `SELECT ${list} FROM ${f.from} WHERE ${f.x} = date ${lit(f.value)}`
          : `SELECT count(*) FROM ${f.from} WHERE ${f.x} = ${v}`;
    }
  }
  const shape = ctx.pick([
    "partial",
    "like",
    "or",
    "not",
    "left_join",
    "in_mixed",
    "having",
    "case",
    "ne",
  ] as const);
  ctx.use(`near_miss:${shape}`);
  const cut = lit(f.value.slice(0, Math.max(1, f.value.length - 1)));
  switch (shape) {
    case "partial":
      return `SELECT ${list} FROM ${f.from} WHERE ${textOf(f)} = ${cut}`;
    case "like":
      return `SELECT ${f.a}.id FROM ${f.from} WHERE ${textOf(f)} LIKE ${lit(`${f.value.slice(0, Math.max(1, f.value.length - 2))}%`)}`;
    case "or":
      return `SELECT ${f.a}.id FROM ${f.from} WHERE ${f.x} = ${v} OR ${f.a}.id = 0`;
    case "not":
      return `SELECT count(*) FROM ${f.from} WHERE NOT (${f.x} = ${v}) AND ${f.where}`;
    case "left_join": {
      const m = ctx.name("m");
      const key = f.table.name === "patients" ? `${f.a}.id` : `${f.a}.patient_id`;
      return `SELECT ${f.a}.id, ${m}.id FROM ${f.from} LEFT JOIN medications ${m} ON ${m}.patient_id = ${key} AND ${f.x} = ${v} WHERE ${f.where} ORDER BY 1, 2`;
    }
    case "in_mixed":
      return `SELECT ${f.a}.id FROM ${f.from} WHERE ${f.x} IN (${v}, ${f.x}) AND ${f.where}`;
    case "having":
      return `SELECT count(*) FROM ${f.from} WHERE ${f.where} GROUP BY ${f.a}.id HAVING max(${textOf(f)}) = ${lit(f.value)}`;
    case "case":
      return select(f, `${f.a}.id, CASE WHEN ${f.x} = ${v} THEN 1 ELSE 0 END`);
    case "ne":
      return `SELECT ${f.a}.id FROM ${f.from} WHERE ${f.x} <> ${v} AND ${f.where}`;
  }
}

/** Recursive CTEs carrying a protected value: counting, character guessing with CYCLE, UNION dedup, SEARCH. */
function recursiveStatement(ctx: StatementContext, f: Frame): string {
  const x = textOf(f);
  const shape = ctx.pick([
    "count",
    "cycle_guess",
    "union_dedup",
    "search",
    "cycle_simple",
    "plain_carry",
    "other_cte_before",
    "other_cte_after",
  ] as const);
  ctx.use(`recursive:${shape}`);
  switch (shape) {
    case "count":
      return `WITH RECURSIVE r(n, v) AS (SELECT 1, ${x} FROM ${f.from} WHERE ${f.where} UNION ALL SELECT n + 1, substr(v, 2) FROM r WHERE n < 3) SELECT n, v FROM r ORDER BY n`;
    case "cycle_guess":
      return `WITH RECURSIVE t(pid, pos, d, n) AS (SELECT ${f.a}.id, g.pos, substr(${x}, g.pos, 1), 47 FROM ${f.from} CROSS JOIN generate_series(1, ${ctx.int(1, 4)}) g(pos) WHERE ${f.where} UNION ALL SELECT pid, pos, chr(n), n + 1 FROM t WHERE n < 58) CYCLE pid, pos, d SET hit USING path SELECT pid, string_agg(chr(n - 1), '' ORDER BY pos) FROM t WHERE hit GROUP BY pid ORDER BY pid`;
    case "union_dedup":
      return `WITH RECURSIVE t(d) AS (SELECT substr(${x}, ${ctx.int(1, 3)}, 1) FROM ${f.from} WHERE ${f.a}.${f.table.patientKey} = ${ctx.int(1, 3)} UNION SELECT ${lit(String(ctx.int(0, 9)))} FROM t) SELECT count(*) FROM t`;
    case "search":
      return `WITH RECURSIVE r(n, v) AS (SELECT 1, ${x} FROM ${f.from} WHERE ${f.where} UNION ALL SELECT n + 1, v FROM r WHERE n < 2) SEARCH ${ctx.pick(["DEPTH", "BREADTH"])} FIRST BY v SET ord SELECT n FROM r ORDER BY ord`;
    case "cycle_simple":
      return `WITH RECURSIVE r(v) AS (SELECT ${x} FROM ${f.from} WHERE ${f.where} UNION ALL SELECT ${lit(f.value)} FROM r) CYCLE v SET c USING p SELECT count(*) FROM r WHERE c`;
    case "plain_carry":
      return `WITH RECURSIVE r(n, v) AS (SELECT 1, ${x} FROM ${f.from} WHERE ${f.where} UNION ALL SELECT n + 1, v FROM r WHERE n < 2) SELECT n, v FROM r ORDER BY n`;
    case "other_cte_before":
      return `WITH RECURSIVE b(i, v) AS (SELECT ${f.a}.id, ${x} FROM ${f.from} WHERE ${f.where}), a(i, w) AS (SELECT i, translate(v, '0123456789', 'ABCDEFGHIJ') FROM b UNION ALL SELECT 0, 'z' WHERE false) SELECT i, w FROM a ORDER BY i`;
    case "other_cte_after":
      return `WITH RECURSIVE a(c) AS (SELECT count(*) FROM b WHERE v < ${lit(f.value)} UNION ALL SELECT c FROM a WHERE false), b(v) AS (SELECT ${x} FROM ${f.from} WHERE ${f.where}) SELECT c FROM a`;
  }
}

/** Every focused category. */
export const FOCUSED_CATEGORIES: readonly string[] = MAKERS.map(([name]) => name);

/** A focused statement of a random category. */
export function focusedStatement(ctx: StatementContext): { category: string; sql: string } {
  const [category, make] = ctx.pick(MAKERS);
  ctx.use(`focused:${category}`);
  return { category, sql: make(ctx, frame(ctx)) };
}
