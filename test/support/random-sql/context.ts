// The state of one generated statement: its random stream, bound parameters, fresh names and the constructs it used.

import type { Prng } from "#tools/ehr/prng.ts";
import type { LiteralPool, SqlType } from "./model.ts";

/** Quotes a string as an SQL literal. */
export function lit(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** One statement being generated. */
export class StatementContext {
  readonly params: unknown[] = [];
  readonly features = new Set<string>();
  private names = 0;

  constructor(
    readonly rng: Prng,
    readonly pool: LiteralPool,
    /** `table.column` of every protected base column (the generator prefers them). */
    readonly protectedColumns: ReadonlySet<string>,
  ) {}

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.rng.chance(p);
  }

  pick<T>(items: readonly T[]): T {
    return this.rng.pick(items);
  }

  int(min: number, max: number): number {
    return this.rng.int(min, max);
  }

  /** A fresh identifier: `t1`, `c2`, ... */
  name(prefix: string): string {
    this.names += 1;
    return `${prefix}${this.names}`;
  }

  /** Records that the statement uses a construct (for the run's coverage report). */
  use(feature: string): void {
    this.features.add(feature);
  }

  /** Binds a parameter and answers its placeholder, cast so the server can type it anywhere. */
  param(value: string | number, type: SqlType): string {
    this.params.push(value);
    this.use("parameter");
    return `$${this.params.length}::${type === "int" ? "int" : type}`;
  }

  /** The number of patients a random composition restricts each table to (joins multiply: a few). */
  patientLimit(): number {
    return this.int(1, Math.min(10, this.pool.patients));
  }

  /** The number of patients a focused statement reads (enough for a predicate to split them). */
  focusLimit(): number {
    return this.int(Math.min(5, this.pool.patients), this.pool.patients);
  }

  /** A value of world A for `table.column`, or undefined when the pool has none. */
  poolValue(column: string): string | undefined {
    const list = this.pool.values.get(column);
    return list === undefined || list.length === 0 ? undefined : this.pick(list);
  }
}
