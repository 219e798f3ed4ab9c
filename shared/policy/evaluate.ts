// Decides a statement: allow, deny or require approval, with reasons and the digest of the policy that decided.

import type { Principal } from "#shared/identity/principal.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { type MatchContext, matchesClaims } from "#shared/policy/match.ts";
import type { PrincipalEntry } from "#shared/policy/schema.ts";
import { SAFE_VOLATILE_FUNCTIONS, stableRefusal } from "#shared/sql/known-functions.ts";
import type { Classification } from "#shared/sql/types.ts";

/** The outcome of evaluating one statement for one principal. */
export interface Decision {
  readonly outcome: "allow" | "deny" | "require_approval";
  /** Human-readable, caller-safe sentences. */
  readonly reasons: readonly string[];
  /** Identifiers of the rules that produced the outcome. */
  readonly rules: readonly string[];
  readonly policy: { readonly name: string; readonly digest: string };
  readonly matchedPrincipal: string | null;
  readonly limits: { readonly maxRows: number; readonly timeoutMs: number };
  /** The planner's row estimate, when a risk rule asked for it. */
  readonly estimatedRows?: number | null;
  /** The caller's PHI rows recorded in a risk rule's window, when a rule asked for them. */
  readonly windowRows?: number | null;
  /** The planner's total cost, when the policy limits it (`maxPlannerCost`). */
  readonly estimatedCost?: number;
  /**
   * An allowed statement that returns protected columns because a risk rule judged it restricted or under its
   * window may return at most `rows` rows unapproved; beyond, `rule` applies (`action`) as if it had fired.
   */
  readonly rowBudget?: {
    readonly rows: number;
    readonly rule: string;
    readonly action: "require_approval" | "deny";
    /** The PHI rows each returned row counts as (absent: 1). */
    readonly weight?: number;
  };
  /**
   * The PHI rows one result row takes from each table whose protected columns reach it, where more than one
   * (occurrences of the table: a self-join, a CTE read twice); absent when every such table counts once.
   */
  readonly occurrences?: Readonly<Record<string, number>>;
  /**
   * The PHI tables any of whose columns (or whole rows) reach the result: what the read ledger counts the session's
   * rows against; absent when none does.
   */
  readonly phiTables?: readonly string[];
}

/**
 * Why the function rule refuses a built-in call, or undefined when it admits it. The rule is an allow-list read
 * from `pg_proc` of the database in use: a built-in runs only if PostgreSQL marks every overload of its name
 * immutable or stable and {@link stableRefusal} does not name it, or it is one of the few
 * {@link SAFE_VOLATILE_FUNCTIONS}. A name the catalog does not list is refused, except grammar constructs the
 * parser spells as calls (`COALESCE`, `CURRENT_DATE`, `XMLTABLE`), which are no function of `pg_proc`.
 */
export function builtinRefusal(call: {
  readonly name: string;
  readonly syntax?: boolean;
  readonly volatility?: "immutable" | "stable" | "volatile";
}): string | undefined {
  const { name, volatility } = call;
  if (volatility === undefined) return call.syntax === true ? undefined : "not a built-in function";
  if (volatility === "volatile")
    return SAFE_VOLATILE_FUNCTIONS.has(name) ? undefined : "volatile (may write, lock, sleep or read files)";
  return stableRefusal(name);
}

function deny(
  policy: LoadedPolicy,
  matched: PrincipalEntry | undefined,
  rule: string,
  reasons: string[],
  limits: Decision["limits"],
): Decision {
  return {
    outcome: "deny",
    reasons,
    rules: [rule],
    policy: { name: policy.document.name, digest: policy.digest },
    matchedPrincipal: matched?.id ?? null,
    limits,
  };
}

function grantCovers(
  entry: PrincipalEntry,
  schema: string,
  table: string,
  column: string | undefined,
): boolean {
  return entry.grants.some((grant) => {
    const tableOk = grant.tables.some((t) => t === `${schema}.${table}` || t === `${schema}.*`);
    if (!tableOk) return false;
    return column === undefined || grant.columns === "*" || grant.columns.includes(column);
  });
}

function qualified(f: { schema?: string; name: string }): string {
  return f.schema === undefined ? f.name : `${f.schema}.${f.name}`;
}

/**
 * Built-in calls the function rule refuses ({@link builtinRefusal}), functions the policy denies (by bare name or
 * `schema.name`), and user-defined routines or operators the policy does not allow: their bodies are invisible,
 * so they could read anything.
 */
function functionProblems(policy: LoadedPolicy, classification: Classification): string[] {
  const extra = new Set(policy.document.functions.deny);
  const allowedUser = new Set(policy.document.functions.allowUserDefined);
  const denied = new Set<string>();
  const user = new Set<string>();
  for (const f of classification.functions) {
    if (extra.has(f.name) || extra.has(qualified(f))) denied.add(qualified(f));
    else if (f.origin === "user") {
      if (!allowedUser.has(qualified(f))) user.add(qualified(f));
    } else {
      const refusal = builtinRefusal(f);
      if (refusal !== undefined) denied.add(`${qualified(f)} (${refusal})`);
    }
  }
  for (const op of classification.operators ?? []) {
    if (op.origin === "user" && !allowedUser.has(qualified(op))) user.add(`operator ${qualified(op)}`);
  }
  const reasons: string[] = [];
  if (denied.size > 0) reasons.push(`the statement calls denied functions: ${[...denied].sort().join(", ")}`);
  if (user.size > 0)
    reasons.push(
      `the statement calls user-defined routines the policy does not allow: ${[...user].sort().join(", ")}`,
    );
  return reasons;
}

/** The first policy principal entry matching the caller, if any. */
export function matchPrincipal(
  policy: LoadedPolicy,
  principal: Principal,
  context: MatchContext,
): PrincipalEntry | undefined {
  return policy.document.principals.find((entry) =>
    matchesClaims(entry.match, principal, policy.document, context),
  );
}

/**
 * Evaluates a classified statement. Default deny: the caller must match a principal entry, the statement
 * must be a read, every relation and column it reads must be granted, and no denied function may appear.
 */
export function evaluate(
  policy: LoadedPolicy,
  principal: Principal,
  classification: Classification,
  context: MatchContext,
): Decision {
  const defaults = policy.document.defaults;
  const entry = matchPrincipal(policy, principal, context);
  const limits = {
    maxRows: entry?.limits.maxRows ?? defaults.maxRows,
    timeoutMs: entry?.limits.statementTimeoutMs ?? defaults.statementTimeoutMs,
  };
  if (entry === undefined) {
    return deny(policy, undefined, "default-deny", ["no policy entry grants this caller any access"], limits);
  }
  const functionReasons = functionProblems(policy, classification);
  if (functionReasons.length > 0) return deny(policy, entry, "functions", functionReasons, limits);
  if (classification.kind !== "read") {
    return deny(
      policy,
      entry,
      "read-only",
      [`${classification.kind} statements are not allowed; phigate serves reads only`],
      limits,
    );
  }
  if (classification.outputsComplete === false) {
    return deny(
      policy,
      entry,
      "lineage",
      ["the result's columns could not be determined, so they could not be masked"],
      limits,
    );
  }
  if ((classification.unresolvedColumns ?? []).length > 0) {
    return deny(policy, entry, "unknown-names", ["the statement names columns that do not exist"], limits);
  }
  const reasons: string[] = [];
  for (const relation of classification.relations) {
    if (!grantCovers(entry, relation.schema, relation.table, undefined)) {
      reasons.push(`${relation.schema}.${relation.table} is not granted to ${entry.id}`);
    }
  }
  for (const column of classification.columns) {
    if (
      grantCovers(entry, column.schema, column.table, undefined) &&
      !grantCovers(entry, column.schema, column.table, column.column)
    ) {
      reasons.push(`column ${column.schema}.${column.table}.${column.column} is not granted to ${entry.id}`);
    }
  }
  for (const whole of classification.wholeRows) {
    const columnsLimited = entry.grants.some(
      (g) =>
        g.columns !== "*" &&
        g.tables.some((t) => t === `${whole.schema}.${whole.table}` || t === `${whole.schema}.*`),
    );
    if (columnsLimited && !grantCovers(entry, whole.schema, whole.table, "*")) {
      reasons.push(`whole rows of ${whole.schema}.${whole.table} are not granted to ${entry.id}`);
    }
  }
  if (reasons.length > 0) return deny(policy, entry, "grants", reasons, limits);
  return {
    outcome: "allow",
    reasons: [`granted to ${entry.id}`],
    rules: ["grants"],
    policy: { name: policy.document.name, digest: policy.digest },
    matchedPrincipal: entry.id,
    limits,
  };
}
