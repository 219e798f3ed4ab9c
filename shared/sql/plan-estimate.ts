// How every executor asks the planner for an estimate (the generic plan, retyped where PostgreSQL cannot type a
// parameter) and reads it out of EXPLAIN (FORMAT JSON)'s one-cell answer.
import { QueryFailedError } from "#shared/errors.ts";
import type { GenericStatement } from "#shared/sql/generic-statement.ts";

/**
 * PostgreSQL could not type parameter `$parameter` of a generic statement: `untyped` (42P18: an unknown literal
 * made a parameter where nothing gives it a type, as an argument of `concat` or `json_build_object`, or in `IS
 * NULL`) or `inconsistent` (42P08: one parameter for equal literals used where they take different types).
 */
export class ParameterTypeError extends QueryFailedError {
  readonly parameter: number;
  readonly kind: "untyped" | "inconsistent";
  constructor(kind: "untyped" | "inconsistent", parameter: number) {
    super(
      "query_failed",
      kind === "untyped"
        ? `the planner could not estimate the statement without its values: more than ${MAX_RETYPED} literals PostgreSQL cannot type there (SQLSTATE 42P18); cast them ('x'::text)`
        : "the planner could not estimate the statement without its values: a literal takes different types (SQLSTATE 42P08)",
    );
    this.kind = kind;
    this.parameter = parameter;
  }
}

/** The parameter an error of PostgreSQL's says it could not type, if it says so (its message names no value). */
export function parameterTypeError(error: unknown): ParameterTypeError | undefined {
  const message = error instanceof Error ? error.message : typeof error === "string" ? error : "";
  const untyped = /could not determine data type of parameter \$(\d+)/.exec(message);
  if (untyped !== null) return new ParameterTypeError("untyped", Number(untyped[1]));
  const inconsistent = /inconsistent types deduced for parameter \$(\d+)/.exec(message);
  return inconsistent === null ? undefined : new ParameterTypeError("inconsistent", Number(inconsistent[1]));
}

/** A statement error that one parameter for equal literals of different types can cause (42883, 42P08, 42804). */
function typedAlike(error: unknown): boolean {
  if (error instanceof ParameterTypeError) return error.kind === "inconsistent";
  const sqlstate = error instanceof QueryFailedError ? error.details?.sqlstate : undefined;
  return typeof sqlstate === "string" && sqlstate.startsWith("42");
}

/** How many parameters one estimate may retype before it fails. */
const MAX_RETYPED = 64;

/**
 * Asks `attempt` for the generic plan's figure; where PostgreSQL cannot type an `unknown` parameter, declares it
 * `text` — the type PostgreSQL gives an unknown literal that nothing else types — and asks again (each attempt in
 * a fresh transaction), at most {@link MAX_RETYPED} times; where one parameter for equal literals fails the
 * statement (the literal takes different types: `s = '1' AND id = '1'`), asks with one parameter per literal
 * (`separate`).
 */
export async function withRetyping<T>(
  statement: GenericStatement,
  attempt: (statement: GenericStatement) => Promise<T>,
): Promise<T> {
  let current = statement;
  for (let retyped = 0; ; retyped++) {
    try {
      return await attempt(current);
    } catch (error) {
      if (current.separate !== undefined && typedAlike(error)) {
        current = current.separate;
        continue;
      }
      if (!(error instanceof ParameterTypeError) || error.kind !== "untyped" || retyped >= MAX_RETYPED)
        throw error;
      const index = error.parameter - 1;
      if (current.types[index] !== "unknown") throw error;
      // The other unknown arguments of the same call cannot be typed either (`num_nulls(NULL, NULL, ...)`).
      const call = current.calls?.[index] ?? 0;
      const types = current.types.map((t, i) =>
        i === index || (call !== 0 && t === "unknown" && current.calls?.[i] === call) ? "text" : t,
      );
      current = { ...current, types };
    }
  }
}

/** The figures of the plan's top node an executor may estimate by. */
export type PlanFigure = "Plan Rows" | "Total Cost";

/** The statement that asks the planner for its estimate (never ANALYZE: the statement is not run). */
export function explainSql(sql: string): string {
  return `EXPLAIN (FORMAT JSON) ${sql}`;
}

/** The name of the statement an estimate prepares (executors discard or deallocate it before the next statement). */
const ESTIMATE_STATEMENT = "phigate_estimate";

/** How an executor asks for a generic plan's estimate, in one read-only transaction. */
export interface EstimateSteps {
  /** Transaction-local settings: a prepared statement is planned without its parameters' values. */
  readonly settings: readonly (readonly [string, string])[];
  /** Run first (the PREPARE), when the statement has parameters. */
  readonly before: readonly string[];
  /** Answers EXPLAIN (FORMAT JSON)'s one cell: the generic plan (its parameters bound to NULL, never run). */
  readonly explain: string;
  /** Run last where session state outlives the transaction and nothing else discards it (the Data API). */
  readonly after: readonly string[];
}

/**
 * The steps that ask the planner for `statement`'s generic plan: `PREPARE` with the parameter types, then
 * `EXPLAIN EXECUTE` under `plan_cache_mode = force_generic_plan`, so no value in the statement (its literals,
 * made parameters, nor the caller's) reaches the estimate. A statement without parameters is explained directly.
 * `name` (an identifier) names the prepared statement where one may outlive a failed deallocation.
 */
export function estimateSteps(statement: GenericStatement, name = ESTIMATE_STATEMENT): EstimateSteps {
  if (!/^[a-z_][a-z0-9_]*$/.test(name))
    throw new TypeError("a prepared statement's name must be an identifier");
  if (statement.types.length === 0)
    return { settings: [], before: [], explain: explainSql(statement.sql), after: [] };
  return {
    settings: [["plan_cache_mode", "force_generic_plan"]],
    before: [`PREPARE ${name} (${statement.types.join(", ")}) AS ${statement.sql}`],
    explain: `EXPLAIN (FORMAT JSON) EXECUTE ${name} (${statement.types.map(() => "NULL").join(", ")})`,
    after: [`DEALLOCATE ${name}`],
  };
}

/**
 * The figure of the top plan node in EXPLAIN (FORMAT JSON)'s text; throws `query_failed` when the text is missing,
 * is not JSON, or carries no such number.
 */
export function planEstimate(text: string | null | undefined, figure: PlanFigure): number {
  let plan: unknown;
  try {
    plan = text === undefined || text === null ? undefined : JSON.parse(text);
  } catch (cause) {
    throw new QueryFailedError("query_failed", "the planner returned no estimate", { cause });
  }
  const value = Array.isArray(plan)
    ? (plan[0] as { Plan?: Record<string, unknown> } | undefined)?.Plan?.[figure]
    : undefined;
  if (typeof value !== "number")
    throw new QueryFailedError("query_failed", "the planner returned no estimate");
  return value;
}
