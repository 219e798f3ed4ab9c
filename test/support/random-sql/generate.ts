// The seeded random statement generator (after sqlsmith / SQLancer): typed, mostly valid, cheap, over the demo schema.

import { Prng } from "#tools/ehr/prng.ts";
import { lit, StatementContext } from "./context.ts";
import { focusedStatement } from "./focused.ts";
import type { LiteralPool, ScopeColumn } from "./model.ts";
import { type NamedRelation, type Query, selectQuery, setOperation } from "./queries.ts";

/** One generated statement. */
export interface GeneratedStatement {
  /** `focused:<construct>` or `random`. */
  readonly category: string;
  readonly sql: string;
  readonly params?: readonly unknown[];
  /** The constructs it uses (functions, clauses, joins, ...), for the coverage report. */
  readonly features: readonly string[];
}

/** Options of {@link generateStatements}. */
export interface GeneratorOptions {
  readonly seed: number;
  readonly count: number;
  /** World A's values the statements may use as literals. */
  readonly pool: LiteralPool;
  /** `table.column` of the protected base columns (the generator aims at them). */
  readonly protectedColumns: ReadonlySet<string>;
  /** Share of focused statements (one construct on a protected column); the rest are random compositions. */
  readonly focusedShare?: number;
}

/** A lookup (or a near-miss of one) on a column of the scope that copies a base column with values in the pool. */
function lookupConjunct(ctx: StatementContext, scope: readonly ScopeColumn[]): string[] {
  const candidates = scope.filter(
    (c) => c.base !== undefined && c.type !== "int" && (ctx.pool.values.get(c.base)?.length ?? 0) > 0,
  );
  if (candidates.length === 0) return [];
  const prot = candidates.filter((c) => c.protected);
  const column = prot.length > 0 && ctx.chance(0.8) ? ctx.pick(prot) : ctx.pick(candidates);
  const base = column.base ?? "";
  const typed = (v: string): string => (column.type === "text" ? lit(v) : `${lit(v)}::${column.type}`);
  const value = (): string => ctx.poolValue(base) ?? "x";
  const shape = ctx.pick(["eq", "in", "any", "param", "like", "ne"] as const);
  ctx.use(`random:${shape === "like" || shape === "ne" ? "near_miss" : "lookup"}:${shape}`);
  switch (shape) {
    case "eq":
      return [`${column.ref} = ${typed(value())}`];
    case "in":
      return [`${column.ref} IN (${typed(value())}, ${typed(value())})`];
    case "any":
      return [`${column.ref} = ANY (ARRAY[${typed(value())}, ${typed(value())}])`];
    case "param":
      return [`${column.ref} = ${ctx.param(value(), column.type)}`];
    case "like":
      return [`${column.ref}::text LIKE ${lit(`${value().slice(0, 3)}%`)}`];
    case "ne":
      return [`${column.ref} <> ${typed(value())}`];
  }
}

function withClause(ctx: StatementContext): { sql: string; ctes: NamedRelation[] } {
  const ctes: NamedRelation[] = [];
  if (!ctx.chance(0.2)) return { sql: "", ctes };
  const parts: string[] = [];
  for (let i = ctx.int(1, 2); i > 0; i--) {
    const q = selectQuery(ctx, 1, ctes);
    const name = ctx.name("w");
    ctes.push({ name, columns: q.columns.map((c) => ({ ...c, ref: c.name })) });
    const materialized = ctx.pick(["", "", "MATERIALIZED ", "NOT MATERIALIZED "]);
    if (materialized !== "") ctx.use("cte:materialized");
    parts.push(`${name} AS ${materialized}(${q.sql})`);
  }
  ctx.use("cte");
  return { sql: `WITH ${parts.join(", ")} `, ctes };
}

function limitClause(ctx: StatementContext): string {
  if (!ctx.chance(0.35)) return "";
  ctx.use("limit");
  const limit = ctx.chance(0.2) ? `${ctx.int(1, 3)} + ${ctx.int(0, 2)}` : String(ctx.int(1, 8));
  if (!ctx.chance(0.3)) return ` LIMIT ${limit}`;
  ctx.use("offset");
  return ` LIMIT ${limit} OFFSET ${ctx.int(0, 3)}`;
}

function randomStatement(ctx: StatementContext): string {
  const { sql: withSql, ctes } = withClause(ctx);
  const lookups = ctx.chance(0.25) ? (scope: readonly ScopeColumn[]) => lookupConjunct(ctx, scope) : () => [];
  const body: Query = ctx.chance(0.15)
    ? setOperation(ctx, 0, ctes)
    : selectQuery(ctx, 0, ctes, undefined, lookups);
  let tail = "";
  if (body.ordered !== true) {
    if (ctx.chance(0.5)) {
      ctx.use("order_by");
      const keys = Array.from({ length: Math.min(body.columns.length, ctx.int(1, 2)) }, (_, i) =>
        String(i + 1),
      );
      tail += ` ORDER BY ${keys.join(", ")}${ctx.chance(0.3) ? " DESC NULLS LAST" : ""}`;
    }
    tail += limitClause(ctx);
  }
  return `${withSql}${body.sql}${tail}`;
}

/**
 * `count` statements from `seed` (the same seed, pool and columns give the same statements): a share are focused
 * on one construct applied to a protected column (every deny-list class and every allowed form of the opacity
 * spec, lookups and near-misses with world A's values), the rest random compositions of joins, subqueries, CTEs,
 * set operations, aggregates, windows, VALUES and set-returning functions with typed expressions.
 */
export function generateStatements(options: GeneratorOptions): GeneratedStatement[] {
  const out: GeneratedStatement[] = [];
  const focusedShare = options.focusedShare ?? 0.5;
  for (let i = 0; i < options.count; i++) {
    const ctx = new StatementContext(
      new Prng(options.seed, 0x5eed, i),
      options.pool,
      options.protectedColumns,
    );
    let category = "random";
    let sql: string;
    if (ctx.chance(focusedShare)) {
      const focused = focusedStatement(ctx);
      category = `focused:${focused.category}`;
      sql = focused.sql;
    } else sql = randomStatement(ctx);
    out.push({
      category,
      sql,
      ...(ctx.params.length === 0 ? {} : { params: [...ctx.params] }),
      features: [...ctx.features].sort(),
    });
  }
  return out;
}
