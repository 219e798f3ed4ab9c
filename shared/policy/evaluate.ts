// Decides a statement: allow, deny or require approval, with reasons and the digest of the policy that decided.

import type { Principal } from "#shared/identity/principal.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { type MatchContext, matchesClaims } from "#shared/policy/match.ts";
import type { PrincipalEntry } from "#shared/policy/schema.ts";
import {
  DYNAMIC_SQL_FUNCTIONS,
  LOCK_FUNCTIONS,
  OPAQUE_READ_FUNCTIONS,
  SESSION_FUNCTIONS,
  WRITE_FUNCTIONS,
} from "#shared/sql/known-functions.ts";
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
}

/**
 * Functions denied whatever the policy grants, as a second line behind the classifier: every built-in it knows to
 * write, lock, change session state, run SQL given as text or read outside the parse tree's relations; plus what
 * only the policy refuses: directory listings and file metadata, sleeps, and functions that return other
 * sessions' statement text or decoded WAL rows.
 */
export const ALWAYS_DENIED_FUNCTIONS: ReadonlySet<string> = new Set([
  ...WRITE_FUNCTIONS,
  ...LOCK_FUNCTIONS,
  ...SESSION_FUNCTIONS,
  ...DYNAMIC_SQL_FUNCTIONS,
  ...OPAQUE_READ_FUNCTIONS,
  "pg_ls_dir",
  "pg_stat_file",
  "pg_ls_logdir",
  "pg_ls_waldir",
  "pg_ls_tmpdir",
  "pg_ls_archive_statusdir",
  "pg_sleep",
  "pg_sleep_for",
  "pg_sleep_until",
  "pg_stat_get_activity",
  "pg_stat_get_backend_activity",
  "pg_logical_slot_get_changes",
  "pg_logical_slot_peek_changes",
  "pg_logical_slot_get_binary_changes",
  "pg_logical_slot_peek_binary_changes",
]);

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
 * Denied functions (the built-in list and the policy's own, by bare name or `schema.name`) and user-defined
 * routines or operators the policy does not allow: their bodies are invisible, so they could read anything.
 */
function functionProblems(policy: LoadedPolicy, classification: Classification): string[] {
  const extra = new Set(policy.document.functions.deny);
  const allowedUser = new Set(policy.document.functions.allowUserDefined);
  const denied = new Set<string>();
  const user = new Set<string>();
  for (const f of classification.functions) {
    if (ALWAYS_DENIED_FUNCTIONS.has(f.name) || extra.has(f.name) || extra.has(qualified(f)))
      denied.add(qualified(f));
    else if (f.origin === "user" && !allowedUser.has(qualified(f))) user.add(qualified(f));
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
