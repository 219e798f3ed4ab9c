// The opacity rules: where a protected value may go (an allow-list, docs/masking.md); every other use is denied.

import type { MaskingPlanPolicy } from "#shared/masking/plan.ts";
import type { Classification } from "#shared/sql/types.ts";

/**
 * Operations a protected value may pass through: they cannot fail for any input value and their result is null
 * only when an input is, so neither an error nor the result's presence depends on the value. The result is
 * itself protected (nulled or denied in the output by `onTransform`, denied anywhere else by the position it
 * reaches). `count` and `null_test` reveal nullness only, which masking keeps anyway.
 */
export const TOTAL_OPERATIONS: ReadonlySet<string> = new Set([
  "cast:text",
  "cast:varchar",
  "cast:bpchar",
  "cast:name",
  "operator:||",
  "function:upper",
  "function:lower",
  "function:btrim",
  "function:ltrim",
  "function:rtrim",
  "function:concat",
  "function:concat_ws",
  "coalesce",
  "case_result",
  "count",
  "null_test",
]);

/** At most this many literals may be compared with protected columns in lookup position in one statement. */
export const MAX_LOOKUP_VALUES = 100;

/** What the opacity rules concluded about a statement. */
export interface OpacityVerdict {
  readonly outcome: "allow" | "deny" | "require_approval";
  /** Caller-safe sentences naming constructs and columns (never a value). */
  readonly reasons: readonly string[];
  readonly rules: readonly string[];
}

const CONSTRUCTS: Readonly<Record<string, string>> = {
  where: "a WHERE condition",
  join_on: "a JOIN ... ON condition",
  join_using: "a JOIN ... USING with a column of another kind",
  group_by: "GROUP BY",
  having: "HAVING",
  order_by: "ORDER BY",
  window: "a window definition",
  window_partition: "a window's PARTITION BY",
  window_order: "a window's ORDER BY",
  window_frame: "a window frame",
  limit: "LIMIT / OFFSET",
  srf_argument: "a set-returning function's argument",
  tablesample: "TABLESAMPLE",
  table_function: "an XMLTABLE / JSON_TABLE document",
  from_item: "a FROM item",
  distinct: "DISTINCT",
  distinct_on: "DISTINCT ON",
  values: "a multi-row VALUES list",
  recursive_cte: "a recursive CTE",
  cycle: "a CYCLE clause",
  search: "a SEARCH clause",
  filter: "an aggregate's FILTER",
  aggregate_order_by: "an aggregate's ORDER BY",
  aggregate_distinct: "an aggregate's DISTINCT",
  case_condition: "a CASE condition",
  in_list: "an IN list",
  between: "BETWEEN",
  is_distinct_from: "IS DISTINCT FROM",
  subscript: "a subscript",
  row: "a ROW constructor",
  array: "an ARRAY constructor",
  bool_expr: "AND / OR / NOT",
  boolean_test: "IS TRUE / IS FALSE",
  json_is: "IS JSON",
  lookup: "an equality lookup, which the policy does not allow for this column",
};

/** A caller-readable name for an exposure. */
export function describeConstruct(via: string): string {
  const known = CONSTRUCTS[via];
  if (known !== undefined) return known;
  const colon = via.indexOf(":");
  const kind = colon < 0 ? via : via.slice(0, colon);
  const detail = colon < 0 ? "" : via.slice(colon + 1);
  switch (kind) {
    case "function":
      return `a function (${detail})`;
    case "operator":
      return `an operator (${detail})`;
    case "cast":
      return `a cast to ${detail}`;
    case "set_operation":
      return `a set operation (${detail.replace("_", " ").toUpperCase()})`;
    case "sublink":
      return `a subquery comparison (${detail.toUpperCase()})`;
    case "equi_join":
      return detail === "" ? "a join" : `a join with ${detail}, which is not the same kind of value`;
    case "expression":
      return `an expression (${detail})`;
    default:
      return via;
  }
}

type Lookup = "allow" | "approval" | "deny";

/**
 * Checks a classified statement against the opacity rules for the masking a principal gets: a protected column
 * (one with a rule, or a detector column; a whole row of a table with one) may reach an output column (masked
 * there), pass through {@link TOTAL_OPERATIONS}, be counted or tested for NULL, be looked up by equality with
 * literals where its rule's `lookup` allows (`approval`: an approver must agree), and be equi-joined with a
 * column of the same `type`. Anything else denies the statement, naming the construct and the column: no
 * approval makes it safe.
 */
export function checkOpacity(
  classification: Pick<Classification, "exposures" | "wholeRowExposures" | "lookupValues">,
  masking: MaskingPlanPolicy,
): OpacityVerdict {
  if (!Array.isArray(classification.exposures) || !Array.isArray(classification.wholeRowExposures)) {
    // An analysis made before exposures were recorded (an old record) cannot be checked: fail closed.
    return {
      outcome: "deny",
      reasons: [
        "the statement's analysis does not say how it uses each column, so the opacity rules cannot be checked",
      ],
      rules: ["opacity"],
    };
  }
  const detectorColumns = new Set(masking.detectors.columns);
  const isProtected = (key: string): boolean => Object.hasOwn(masking.rules, key) || detectorColumns.has(key);
  // Only a column whose rule names a type can be joined: equality between its values is then declassified on
  // purpose (a token shows it anyway); a redacted or generalized column's equality (who shares a city, a
  // birth date) is not, unless the policy says so.
  const typeOf = (key: string): string | undefined => masking.rules[key]?.type;
  const lookupOf = (key: string): Lookup => masking.rules[key]?.lookup ?? "deny";
  const protectedTables = new Set<string>();
  for (const key of [...Object.keys(masking.rules), ...detectorColumns])
    protectedTables.add(key.slice(0, key.lastIndexOf(".")));

  const denied = new Map<string, Set<string>>();
  const deny = (key: string, via: string): void => {
    let set = denied.get(key);
    if (set === undefined) {
      set = new Set();
      denied.set(key, set);
    }
    set.add(describeConstruct(via));
  };
  const approvals = new Set<string>();
  const lookupColumns = new Set<string>();

  for (const exposure of classification.exposures) {
    const key = `${exposure.schema}.${exposure.table}.${exposure.column}`;
    if (!isProtected(key)) continue;
    for (const via of exposure.via) {
      if (TOTAL_OPERATIONS.has(via)) continue;
      if (via === "lookup") {
        lookupColumns.add(key);
        const lookup = lookupOf(key);
        if (lookup === "approval") approvals.add(key);
        else if (lookup !== "allow") deny(key, via);
        continue;
      }
      if (via.startsWith("equi_join:")) {
        // The other side's value is a copy of these columns (several: a view column and its base column); the
        // join is allowed when the protected ones all have this column's type, and one of them does.
        const type = typeOf(key);
        const partners = via
          .slice("equi_join:".length)
          .split("+")
          .filter((k: string) => isProtected(k));
        if (type === undefined || partners.length === 0 || partners.some((k: string) => typeOf(k) !== type))
          deny(key, via);
        continue;
      }
      deny(key, via);
    }
  }
  for (const exposure of classification.wholeRowExposures) {
    const table = `${exposure.schema}.${exposure.table}`;
    if (!protectedTables.has(table)) continue;
    for (const via of exposure.via) if (!TOTAL_OPERATIONS.has(via)) deny(`${table} (whole rows)`, via);
  }

  const reasons: string[] = [];
  for (const [key, constructs] of [...denied].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    reasons.push(
      `protected column ${key} is used in ${[...constructs].sort().join(", ")}; protected values are opaque: select the column to get its masked value, compare it for equality with a literal where the policy allows lookups, join it with the same kind of column, or count it (docs/masking.md)`,
    );
  }
  if (lookupColumns.size > 0 && classification.lookupValues > MAX_LOOKUP_VALUES) {
    reasons.push(
      `the statement looks up protected column(s) ${[...lookupColumns].sort().join(", ")} by ${classification.lookupValues} literals; at most ${MAX_LOOKUP_VALUES} are allowed in one statement`,
    );
  }
  if (reasons.length > 0) return { outcome: "deny", reasons, rules: ["opacity"] };
  if (approvals.size > 0) {
    return {
      outcome: "require_approval",
      reasons: [
        `the statement looks up rows by protected column(s) ${[...approvals].sort().join(", ")}, which the policy allows with an approver's consent (opacity)`,
      ],
      rules: ["opacity-lookup"],
    };
  }
  return { outcome: "allow", reasons: [], rules: [] };
}

/**
 * Whether a statement reads a protected column (or a whole row of a table with one) anywhere: its run-time
 * failures then answer one generic error, since which error a statement raises could depend on a value.
 */
export function readsProtected(
  classification: Pick<Classification, "columns" | "wholeRows">,
  masking: MaskingPlanPolicy,
): boolean {
  const detectorColumns = new Set(masking.detectors.columns);
  const tables = new Set<string>();
  for (const key of [...Object.keys(masking.rules), ...detectorColumns])
    tables.add(key.slice(0, key.lastIndexOf(".")));
  for (const c of classification.columns) {
    const key = `${c.schema}.${c.table}.${c.column}`;
    if (Object.hasOwn(masking.rules, key) || detectorColumns.has(key)) return true;
  }
  return classification.wholeRows.some((r) => tables.has(`${r.schema}.${r.table}`));
}

/** Whether a statement joins rows on a protected column (an allowed equi-join): its join order must not follow it. */
export function joinsOnProtected(
  classification: Pick<Classification, "exposures">,
  masking: MaskingPlanPolicy,
): boolean {
  const detectorColumns = new Set(masking.detectors.columns);
  return (classification.exposures ?? []).some((e) => {
    const key = `${e.schema}.${e.table}.${e.column}`;
    const protectedColumn = Object.hasOwn(masking.rules, key) || detectorColumns.has(key);
    return protectedColumn && e.via.some((via) => via.startsWith("equi_join:"));
  });
}
