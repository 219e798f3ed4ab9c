// Random queries over the demo schema: FROM items and joins, select lists (plain, aggregate, window), CTEs, set operations.

import type { StatementContext } from "./context.ts";
import { columnOf, type ExpressionOptions, expression, literal } from "./expressions.ts";
import { type ScopeColumn, type SqlType, TABLES, type TableModel } from "./model.ts";

/** A generated query and the columns it outputs (`ref` is the output name). */
export interface Query {
  readonly sql: string;
  readonly columns: readonly ScopeColumn[];
  /** True when the query already ends with an ORDER BY (or LIMIT) of its own. */
  readonly ordered?: boolean;
}

/** A named relation a FROM clause may read: a CTE. */
export interface NamedRelation {
  readonly name: string;
  readonly columns: readonly ScopeColumn[];
}

interface From {
  readonly sql: string;
  readonly scope: ScopeColumn[];
  /** Conjuncts the WHERE clause must carry (the patient restriction of base tables). */
  readonly conditions: string[];
}

const OUTPUT_TYPES: readonly SqlType[] = ["text", "text", "text", "int", "date", "timestamptz", "bool"];

function tableScope(ctx: StatementContext, table: TableModel, alias: string): ScopeColumn[] {
  return table.columns.map(({ name, type }) => {
    const base = `${table.name}.${name}`;
    return { ref: `${alias}.${name}`, name, type, base, protected: ctx.protectedColumns.has(base) };
  });
}

function restriction(ctx: StatementContext, table: TableModel, alias: string): string {
  const k = ctx.patientLimit();
  return ctx.chance(0.15) ? `${alias}.${table.patientKey} = ${k}` : `${alias}.${table.patientKey} <= ${k}`;
}

function tablesample(ctx: StatementContext): string {
  if (!ctx.chance(0.05)) return "";
  ctx.use("tablesample");
  const method = ctx.pick(["BERNOULLI", "SYSTEM"]);
  return ` TABLESAMPLE ${method} (${ctx.pick([30, 50, 100])}) REPEATABLE (${ctx.int(0, 9)})`;
}

function baseTable(ctx: StatementContext, table?: TableModel): From {
  const t = table ?? ctx.pick([TABLES[0], TABLES[0], TABLES[1], TABLES[2]].filter((x) => x !== undefined));
  const alias = ctx.name(t.alias);
  return {
    sql: `${t.name} ${alias}${tablesample(ctx)}`,
    scope: tableScope(ctx, t, alias),
    conditions: [restriction(ctx, t, alias)],
  };
}

function renamed(columns: readonly ScopeColumn[], alias: string): ScopeColumn[] {
  return columns.map((c) => ({ ...c, ref: `${alias}.${c.name}` }));
}

/** A FROM item: a base table most of the time, else a subquery, CTE, VALUES or set-returning function. */
function fromItem(
  ctx: StatementContext,
  depth: number,
  ctes: readonly NamedRelation[],
  left: readonly ScopeColumn[],
): From {
  const roll = ctx.int(0, 99);
  if (roll < 60 || depth >= 2) return baseTable(ctx);
  if (roll < 72) {
    ctx.use("from:subquery");
    const q = selectQuery(ctx, depth + 1, ctes);
    const alias = ctx.name("s");
    return { sql: `(${q.sql}) AS ${alias}`, scope: renamed(q.columns, alias), conditions: [] };
  }
  if (roll < 80 && ctes.length > 0) {
    ctx.use("from:cte");
    const cte = ctx.pick(ctes);
    const alias = ctx.name("r");
    return { sql: `${cte.name} ${alias}`, scope: renamed(cte.columns, alias), conditions: [] };
  }
  if (roll < 86) return valuesItem(ctx, left);
  if (roll < 93) {
    ctx.use("from:generate_series");
    const alias = ctx.name("g");
    const upper =
      left.length > 0 && ctx.chance(0.4)
        ? `least(${expression(ctx, "int", left, 1)}, 6)`
        : String(ctx.int(1, 6));
    if (left.some((c) => c.protected && upper.includes(c.ref))) ctx.use("srf_argument:protected");
    return {
      sql: `generate_series(1, ${upper}) AS ${alias}(i)`,
      scope: [{ ref: `${alias}.i`, name: "i", type: "int", protected: false }],
      conditions: [],
    };
  }
  ctx.use("from:unnest");
  const alias = ctx.name("u");
  const items =
    left.length > 0 ? [expression(ctx, "text", left, 2), expression(ctx, "text", left, 2)] : ["'a'", "'b'"];
  const carries = left.some((c) => c.protected && items.some((i) => i.includes(c.ref)));
  if (carries) ctx.use("srf_argument:protected");
  return {
    sql: `unnest(ARRAY[${items.join(", ")}]) AS ${alias}(x)`,
    scope: [{ ref: `${alias}.x`, name: "x", type: "text", protected: carries }],
    conditions: [],
  };
}

function valuesItem(ctx: StatementContext, left: readonly ScopeColumn[]): From {
  const alias = ctx.name("v");
  const rows = ctx.int(1, 3);
  const lateral = left.length > 0 && ctx.chance(0.6);
  ctx.use(lateral ? "values:lateral" : "values");
  const textCell = (): string => (lateral ? expression(ctx, "text", left, 2) : literal(ctx, "text"));
  const values = Array.from({ length: rows }, (_, i) => `(${i + 1}, ${textCell()})`).join(", ");
  return {
    sql: `${lateral ? "LATERAL " : ""}(VALUES ${values}) AS ${alias}(n, x)`,
    scope: [
      { ref: `${alias}.n`, name: "n", type: "int", protected: false },
      { ref: `${alias}.x`, name: "x", type: "text", protected: lateral && left.some((c) => c.protected) },
    ],
    conditions: [],
  };
}

function patientKeys(scope: readonly ScopeColumn[]): ScopeColumn[] {
  return scope.filter((c) => c.base === "patients.id" || c.base?.endsWith(".patient_id") === true);
}

function joinCondition(
  ctx: StatementContext,
  left: readonly ScopeColumn[],
  right: readonly ScopeColumn[],
): string {
  const lk = patientKeys(left);
  const rk = patientKeys(right);
  const parts: string[] = [];
  if (lk.length > 0 && rk.length > 0 && ctx.chance(0.8))
    parts.push(`${ctx.pick(rk).ref} = ${ctx.pick(lk).ref}`);
  if (ctx.chance(0.3)) {
    const protectedPairs = right.filter(
      (r) => r.protected && left.some((l) => l.base === r.base && l.base !== undefined),
    );
    if (protectedPairs.length > 0) {
      const r = ctx.pick(protectedPairs);
      const l = left.find((c) => c.base === r.base);
      ctx.use("equi_join:protected");
      if (l !== undefined) parts.push(`${l.ref} = ${r.ref}`);
    } else {
      ctx.use("predicate:on");
      parts.push(expression(ctx, "bool", [...left, ...right], 1));
    }
  }
  return parts.length === 0 ? "true" : parts.join(" AND ");
}

/** The FROM clause: one to three items joined (inner, left, cross, lateral, USING, NATURAL). */
function fromClause(ctx: StatementContext, depth: number, ctes: readonly NamedRelation[]): From {
  let from = fromItem(ctx, depth, ctes, []);
  const joins = depth === 0 ? ctx.pick([0, 0, 1, 1, 2]) : ctx.pick([0, 0, 1]);
  for (let i = 0; i < joins; i++) {
    const kind = ctx.pick(["inner", "inner", "left", "cross", "lateral", "using", "natural"] as const);
    if (kind === "lateral" && depth < 2) {
      ctx.use("join:lateral");
      const t = ctx.pick(TABLES.filter((x) => x.name !== "patients"));
      const alias = ctx.name(t.alias);
      const inner = tableScope(ctx, t, alias);
      const keys = patientKeys(from.scope);
      const correlate = keys.length > 0 ? ` AND ${alias}.patient_id = ${ctx.pick(keys).ref}` : "";
      const items = [inner[0], ctx.pick(inner.slice(1))].filter((c) => c !== undefined);
      const sub = `SELECT ${items.map((c) => `${c.ref} AS ${c.name}`).join(", ")} FROM ${t.name} ${alias} WHERE ${restriction(ctx, t, alias)}${correlate} ORDER BY ${alias}.id LIMIT ${ctx.int(1, 3)}`;
      const l = ctx.name("l");
      const join = ctx.pick(["CROSS JOIN", "LEFT JOIN"]);
      from = {
        sql: `${from.sql} ${join} LATERAL (${sub}) AS ${l}${join === "LEFT JOIN" ? " ON true" : ""}`,
        scope: [...from.scope, ...renamed(items, l)],
        conditions: from.conditions,
      };
      continue;
    }
    if ((kind === "using" || kind === "natural") && depth < 2) {
      const pair = ctx.pick([
        [TABLES[1], TABLES[2]],
        [TABLES[2], TABLES[1]],
      ] as const);
      const [lt, rt] = [pair[0], pair[1]];
      if (lt === undefined || rt === undefined) continue;
      const la = ctx.name(lt.alias);
      const ra = ctx.name(rt.alias);
      ctx.use(`join:${kind}`);
      const joined =
        kind === "using"
          ? `(${lt.name} ${la} JOIN ${rt.name} ${ra} USING (patient_id))`
          : `(${lt.name} ${la} NATURAL JOIN ${rt.name} ${ra})`;
      from = {
        sql: `${from.sql} CROSS JOIN ${joined}`,
        scope: [...from.scope, ...tableScope(ctx, lt, la), ...tableScope(ctx, rt, ra)],
        conditions: [...from.conditions, `${la}.patient_id <= ${ctx.patientLimit()}`],
      };
      continue;
    }
    const right = fromItem(ctx, depth + 1, ctes, kind === "cross" ? from.scope : []);
    if (kind === "cross") {
      ctx.use("join:cross");
      from = {
        sql: `${from.sql} CROSS JOIN ${right.sql}`,
        scope: [...from.scope, ...right.scope],
        conditions: [...from.conditions, ...right.conditions],
      };
    } else if (kind === "left") {
      ctx.use("join:left");
      const on = [joinCondition(ctx, from.scope, right.scope), ...right.conditions].join(" AND ");
      from = {
        sql: `${from.sql} LEFT JOIN ${right.sql} ON ${on}`,
        scope: [...from.scope, ...right.scope],
        conditions: from.conditions,
      };
    } else {
      ctx.use("join:inner");
      from = {
        sql: `${from.sql} JOIN ${right.sql} ON ${joinCondition(ctx, from.scope, right.scope)}`,
        scope: [...from.scope, ...right.scope],
        conditions: [...from.conditions, ...right.conditions],
      };
    }
  }
  return from;
}

/** A subquery for expressions: scalar (one row), IN/ANY lists, EXISTS, optionally correlated on a patient key. */
export function subquery(ctx: StatementContext, type: SqlType, outer: readonly ScopeColumn[]): string {
  const t = ctx.pick(TABLES);
  const alias = ctx.name(t.alias);
  const scope = tableScope(ctx, t, alias);
  const conditions = [restriction(ctx, t, alias)];
  const keys = patientKeys(outer);
  if (keys.length > 0 && ctx.chance(0.5)) {
    ctx.use("subquery:correlated");
    conditions.push(`${alias}.${t.patientKey} = ${ctx.pick(keys).ref}`);
  }
  if (ctx.chance(0.4)) conditions.push(expression(ctx, "bool", scope, 2));
  const value = expression(ctx, type, scope, 2);
  const scalar = ctx.chance(0.5) ? `max(${value})` : value;
  const limit = scalar === value ? ` ORDER BY ${alias}.id LIMIT 1` : "";
  return `SELECT ${scalar} FROM ${t.name} ${alias} WHERE ${conditions.join(" AND ")}${limit}`;
}

function options(ctx: StatementContext, depth: number): ExpressionOptions {
  return depth < 2 ? { subquery: (type, outer) => subquery(ctx, type, outer) } : {};
}

interface Item {
  readonly sql: string;
  readonly type: SqlType;
  readonly base?: string;
  readonly protected: boolean;
}

function plainItem(ctx: StatementContext, scope: readonly ScopeColumn[], type: SqlType, depth: number): Item {
  const column = columnOf(ctx, scope, type);
  if (column !== undefined && ctx.chance(0.5)) {
    return {
      sql: column.ref,
      type,
      ...(column.base === undefined ? {} : { base: column.base }),
      protected: column.protected,
    };
  }
  const sql = expression(ctx, type, scope, 1, options(ctx, depth));
  return { sql, type, protected: scope.some((c) => c.protected && sql.includes(c.ref)) };
}

function aggregateItem(ctx: StatementContext, scope: readonly ScopeColumn[], type: SqlType): Item {
  const arg = (t: SqlType) => expression(ctx, t, scope, 2);
  const filter = (): string => {
    if (!ctx.chance(0.15)) return "";
    ctx.use("aggregate:filter");
    return ` FILTER (WHERE ${expression(ctx, "bool", scope, 2)})`;
  };
  let sql: string;
  switch (type) {
    case "int": {
      const kind = ctx.pick(["count_star", "count", "count_distinct", "sum", "min", "max"] as const);
      ctx.use(`aggregate:${kind}`);
      if (kind === "count_star") sql = `count(*)${filter()}::int`;
      else if (kind === "count") sql = `count(${arg(ctx.pick(["text", "date"] as const))})${filter()}::int`;
      else if (kind === "count_distinct")
        sql = `count(DISTINCT ${arg(ctx.pick(["text", "date"] as const))})${filter()}::int`;
      else if (kind === "sum") sql = `sum(${arg("int")})${filter()}::int`;
      else sql = `${kind}(${arg("int")})${filter()}`;
      break;
    }
    case "text": {
      const kind = ctx.pick(["string_agg", "string_agg_ordered", "min", "max", "array_agg"] as const);
      ctx.use(`aggregate:${kind}`);
      if (kind === "string_agg") sql = `string_agg(${arg("text")}, ',')${filter()}`;
      else if (kind === "string_agg_ordered")
        sql = `string_agg(${arg("text")}, ',' ORDER BY ${arg(ctx.pick(["text", "int"] as const))})${filter()}`;
      else if (kind === "array_agg")
        sql = `array_agg(${arg("text")} ORDER BY ${arg("text")})${filter()}::text`;
      else sql = `${kind}(${arg("text")})${filter()}`;
      break;
    }
    case "date":
    case "timestamptz":
      ctx.use("aggregate:min_max");
      sql = `${ctx.pick(["min", "max"])}(${arg(type)})${filter()}`;
      break;
    case "bool":
      ctx.use("aggregate:bool_or");
      sql = `bool_or(${arg("bool")})${filter()}`;
      break;
    case "numeric":
      ctx.use("aggregate:avg");
      sql = `round(avg(${arg("int")}), 2)${filter()}`;
      break;
  }
  return { sql, type, protected: scope.some((c) => c.protected && sql.includes(c.ref)) };
}

function windowItem(ctx: StatementContext, scope: readonly ScopeColumn[], type: SqlType): Item | undefined {
  if (type !== "int" && type !== "text") return undefined;
  const partition = ctx.chance(0.6)
    ? `PARTITION BY ${expression(ctx, ctx.pick(["text", "int"] as const), scope, 2)} `
    : "";
  const order = `ORDER BY ${expression(ctx, ctx.pick(["text", "int", "date"] as const), scope, 2)}${ctx.chance(0.3) ? " DESC" : ""}`;
  if (partition !== "") ctx.use("window:partition");
  ctx.use("window:order");
  const frame = ctx.chance(0.3)
    ? ` ${ctx.pick(["ROWS BETWEEN 1 PRECEDING AND CURRENT ROW", "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 FOLLOWING", "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW", "GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW"])}`
    : "";
  if (frame !== "") ctx.use("window:frame");
  const over = `OVER (${partition}${order}${frame})`;
  let sql: string;
  if (type === "int") {
    const fn = ctx.pick(["row_number()", "rank()", "dense_rank()", "ntile(2)", "count(*)"]);
    ctx.use(`window:${fn.replace(/\(.*$/, "")}`);
    sql = `(${fn} ${over})::int`;
  } else {
    const fn = ctx.pick(["lag", "lead", "first_value", "min", "max"]);
    ctx.use(`window:${fn}`);
    const argument = expression(ctx, "text", scope, 2);
    sql =
      fn === "lag" || fn === "lead"
        ? `${fn}(${argument}, ${ctx.int(1, 2)}) ${over}`
        : `${fn}(${argument}) ${over}`;
  }
  return { sql, type, protected: scope.some((c) => c.protected && sql.includes(c.ref)) };
}

function outputTypes(ctx: StatementContext): SqlType[] {
  return Array.from({ length: ctx.int(1, 4) }, () => ctx.pick(OUTPUT_TYPES));
}

function whereClause(ctx: StatementContext, from: From, depth: number, extra: readonly string[]): string {
  const conditions = [...from.conditions, ...extra];
  const predicates = ctx.pick([0, 0, 1, 1, 2]);
  for (let i = 0; i < predicates; i++) {
    ctx.use("predicate:where");
    conditions.push(expression(ctx, "bool", from.scope, 1, options(ctx, depth)));
  }
  return conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`;
}

/**
 * One SELECT (no set operation): FROM with joins, WHERE (patient restrictions, random predicates and the caller's
 * extra conjuncts, e.g. lookups), and a plain, aggregate, window or DISTINCT select list of `want` types.
 */
export function selectQuery(
  ctx: StatementContext,
  depth: number,
  ctes: readonly NamedRelation[],
  want?: readonly SqlType[],
  extra: (scope: readonly ScopeColumn[]) => string[] = () => [],
): Query {
  const from = fromClause(ctx, depth, ctes);
  const types = want ?? outputTypes(ctx);
  const where = whereClause(ctx, from, depth, extra(from.scope));
  const mode = ctx.pick(["plain", "plain", "plain", "aggregate", "window", "distinct"] as const);
  let items: Item[];
  let tail = "";
  let head = "SELECT ";
  if (mode === "aggregate") {
    const keys = ctx.int(0, Math.min(2, types.length - 1));
    const groupItems = types.slice(0, keys).map((t) => plainItem(ctx, from.scope, t, depth));
    items = [...groupItems, ...types.slice(keys).map((t) => aggregateItem(ctx, from.scope, t))];
    if (groupItems.length > 0) {
      ctx.use("group_by");
      const byExpression =
        ctx.chance(0.5) && groupItems.every((g) => from.scope.some((c) => g.sql.includes(c.ref)));
      tail += ` GROUP BY ${byExpression ? groupItems.map((g) => g.sql).join(", ") : groupItems.map((_, i) => String(i + 1)).join(", ")}`;
    }
    if (ctx.chance(0.3)) {
      ctx.use("having");
      tail += ` HAVING ${aggregateItem(ctx, from.scope, "int").sql} ${ctx.pick([">", ">=", "<>"])} ${ctx.int(0, 2)}`;
    }
  } else if (mode === "window") {
    items = types.map(
      (t) =>
        (ctx.chance(0.5) ? windowItem(ctx, from.scope, t) : undefined) ??
        plainItem(ctx, from.scope, t, depth),
    );
  } else {
    items = types.map((t) => plainItem(ctx, from.scope, t, depth));
    if (mode === "distinct") {
      if (ctx.chance(0.5)) {
        ctx.use("distinct");
        head = "SELECT DISTINCT ";
      } else if (from.scope.length > 0) {
        ctx.use("distinct_on");
        const column = ctx.pick(from.scope);
        const key = column.type === "bool" ? `${column.ref}::int` : column.ref;
        head = `SELECT DISTINCT ON (${key}) `;
        const second = columnOf(ctx, from.scope, "text");
        tail += ` ORDER BY ${key}${second !== undefined && ctx.chance(0.5) ? `, ${second.ref}` : ""}`;
      }
    }
  }
  const names = items.map(() => ctx.name("c"));
  const list = items.map((item, i) => `${item.sql} AS ${names[i]}`).join(", ");
  const columns: ScopeColumn[] = items.map((item, i) => ({
    ref: names[i] ?? "",
    name: names[i] ?? "",
    type: item.type,
    ...(item.base === undefined || mode === "aggregate" ? {} : { base: item.base }),
    protected: item.protected,
  }));
  if (depth > 0 && ctx.chance(0.2) && !tail.includes("ORDER BY")) {
    ctx.use("subquery:limit");
    tail += ` ORDER BY 1 LIMIT ${ctx.int(1, 5)}`;
  }
  return {
    sql: `${head}${list} FROM ${from.sql}${where}${tail}`,
    columns,
    ordered: tail.includes("ORDER BY"),
  };
}

/** A set operation of two selects with the same output types. */
export function setOperation(ctx: StatementContext, depth: number, ctes: readonly NamedRelation[]): Query {
  const left = selectQuery(ctx, depth, ctes);
  const right = selectQuery(
    ctx,
    depth,
    ctes,
    left.columns.map((c) => c.type),
  );
  const op = ctx.pick(["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"]);
  ctx.use(`setop:${op.toLowerCase().replace(" ", "_")}`);
  return { sql: `(${left.sql}) ${op} (${right.sql})`, columns: left.columns };
}
