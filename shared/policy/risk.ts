// Risk assessment of an allowed statement: the rules that send it to a human (or deny it), with their reasons.

import type { MaskingPlanPolicy } from "#shared/masking/plan.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { RiskRule } from "#shared/policy/schema.ts";
import { AGGREGATE_FUNCTIONS } from "#shared/sql/known-functions.ts";
import type { Classification, TableRef } from "#shared/sql/types.ts";

/** What the risk rules concluded. */
export interface RiskAssessment {
  readonly outcome: "allow" | "require_approval" | "deny";
  readonly reasons: readonly string[];
  readonly rules: readonly string[];
  /** The planner's estimate, when a rule needed it. */
  readonly estimatedRows: number | null;
  /** The PHI rows recorded for the principal in a rule's window, when a rule needed them. */
  readonly windowRows: number | null;
  /**
   * When the outcome is `allow` and the statement returns protected columns only because a rule judged it
   * restricted (estimate, lookup) or under its window: the most PHI rows it may return without that rule firing.
   */
  readonly budget: RowBudget | null;
  /**
   * The PHI rows each result row takes from a table whose protected columns reach the result, where more than
   * one (see {@link phiOccurrences}); null when every such table counts once.
   */
  readonly occurrences: Readonly<Record<string, number>> | null;
  /** The PHI tables any of whose columns reach the result (sorted): what the read ledger counts the session for. */
  readonly phiTables: readonly string[];
}

/** The PHI rows an allowed statement may return before the rule that let it through applies after all. */
export interface RowBudget {
  readonly rows: number;
  /** The PHI rows each result row counts as (absent: 1): the most occurrences of one protected table behind it. */
  readonly weight?: number;
  /** The rule that applies once the budget is exceeded, and what it does. */
  readonly rule: string;
  readonly action: "require_approval" | "deny";
}

/** What the assessment needs besides the classification. */
export interface RiskInput {
  readonly policy: LoadedPolicy;
  /** The matched principal entry's id. */
  readonly principalId: string;
  readonly classification: Classification;
  /** The masking the principal gets (its protected columns define "PHI"). */
  readonly masking: MaskingPlanPolicy;
  readonly purpose: string | null;
  /** The planner's row estimate for the statement (called only when a rule needs it). */
  readonly estimateRows: () => Promise<number>;
  /**
   * The PHI rows this caller's unapproved sessions returned from `tables` together since `since` (the read
   * ledger; called only when a rule needs it). Absent: none are known (an offline re-evaluation passes the
   * recorded figure).
   */
  readonly windowRows?: (tables: readonly string[], since: Date) => Promise<number>;
  /** Now, for the window. */
  readonly now?: Date;
}

/**
 * The bits a returned row may carry per relation scan behind it when a condition over other rows chose it among the
 * scans' rows (`Classification.choosers`): log2 of a table of 2^32 rows. Each counts as one PHI row.
 */
export const SELECTION_BITS = 32;

/** The rows a predicate may leave, and a principal may take in slices per window, unless a rule says otherwise. */
export const DEFAULT_RESTRICTED_ROWS = 1000;
/** The window over which sliced reads add up, unless a rule says otherwise. */
export const DEFAULT_WINDOW_SECONDS = 3600;

function tableOf(column: string): string {
  return column.slice(0, column.lastIndexOf("."));
}

/** Facts about a statement the rules are written in. */
function facts(input: RiskInput) {
  const { classification, masking } = input;
  const protectedColumns = new Set(Object.keys(masking.rules));
  const phiTables = new Set([...protectedColumns, ...masking.detectors.columns].map(tableOf));
  const predicateTables = new Set(
    classification.columns
      .filter((c) => c.clauses.includes("predicate"))
      .map((c) => `${c.schema}.${c.table}`),
  );
  // A lookup by literal is a predicate on its table wherever it sits (an INNER JOIN's ON as well as WHERE).
  for (const e of classification.exposures ?? []) {
    if (e.via.includes("lookup")) predicateTables.add(`${e.schema}.${e.table}`);
  }
  const readTables = new Set(
    classification.relations
      .filter((r) => (r.access ?? ["read"]).includes("read"))
      .map((r) => `${r.schema}.${r.table}`),
  );
  // Protected values per result row: every output column's protected sources, so `p0.ssn, p1.ssn` counts two.
  let phiColumnsInResult = 0;
  // The PHI tables any of whose columns (or whole rows) reach the result: what the read ledger counts. A PHI
  // table's column without a masking rule (a diagnosis code) is still a row of that table leaving.
  const phiResultTables = new Set<string>();
  for (const output of classification.outputs) {
    const carried = new Set<string>();
    for (const s of output.sources) {
      const key = `${s.schema}.${s.table}.${s.column}`;
      if (protectedColumns.has(key)) carried.add(key);
      if (phiTables.has(`${s.schema}.${s.table}`)) phiResultTables.add(`${s.schema}.${s.table}`);
    }
    for (const r of output.wholeRows) {
      const table = `${r.schema}.${r.table}`;
      if (!phiTables.has(table)) continue;
      phiResultTables.add(table);
      for (const key of protectedColumns) if (tableOf(key) === table) carried.add(key);
    }
    phiColumnsInResult += carried.size;
  }
  const occurrences = phiOccurrences(classification, phiResultTables, phiTables);
  const combining = rowsCombined(classification) ?? conditionChooses(classification, phiTables);
  const uncountable = new Set<string>();
  for (const [t, w] of occurrences) {
    if (Number.isFinite(w)) continue;
    uncountable.add(t);
    occurrences.set(t, 1);
  }
  // Every PHI table the statement reads shapes its rows, whether or not its values reach them: a join partner or
  // a count filters and counts them (one PHI row each), and a condition on a subquery (`CASE WHEN EXISTS (...)`,
  // `WHERE EXISTS`, `ORDER BY (SELECT ...)`) may decide any cell of a row, so it counts one per result column.
  const conditions = new Map(
    (classification.conditionReads ?? []).map((r) => [`${r.schema}.${r.table}`, r.scans]),
  );
  // A cell that is not a column's value as it is (a constant, a count, a condition's outcome, arithmetic, a value a
  // subquery picked) may be a fact about every PHI table read: `q.id * 0 + (SELECT g FROM generate_series(0, 4095)
  // g WHERE g = s.n0)` carries a value computed elsewhere, whatever its source column (the tenth outside attack).
  // An ORDER BY key that is neither an output nor a column as it is reaches the caller as the rows' order.
  // A cell or key combining several aggregates (`CASE WHEN count(*) FILTER (...) > 0 ... END || ...`) carries each
  // of them: the calls beyond one per cell count too (the twelfth outside attack put 600 counts in one cell).
  // An aggregate that picks its own rows (a FILTER, a count of a computed argument) counts a subset of up to
  // 2^SELECTION_BITS rows: up to that many bits, where a plain count says the size of the rows the statement's own
  // predicate and groups chose (the twentieth outside attack decoded 897 patients' sex from 255 FILTER counts in one
  // row weighed 256).
  const facts =
    classification.outputs.filter((o) => o.kind !== "copy").length +
    (classification.orderingKeys ?? 0) +
    (classification.packedAggregates ?? 0) +
    SELECTION_BITS * (classification.subsetAggregates ?? 0);
  const scanned = new Map((classification.scans ?? []).map((r) => [`${r.schema}.${r.table}`, r.scans]));
  for (const t of readTables) {
    if (!phiTables.has(t)) continue;
    phiResultTables.add(t);
    if (combining !== undefined) uncountable.add(t);
    const scans = scanned.get(t);
    if (scans === null) uncountable.add(t);
    let weight = Math.max(occurrences.get(t) ?? 0, scans ?? 0) + facts;
    if (conditions.has(t)) {
      // Each condition subquery decides at most a fact per cell it reaches: its scans, or the row's cells.
      const decided = conditions.get(t);
      if (decided === null || decided === undefined) uncountable.add(t);
      weight += Math.max(1, classification.outputs.length, decided ?? 1);
    }
    occurrences.set(t, Math.max(1, weight));
  }
  // A row chosen among N candidates by a condition over other PHI rows says up to log2 N bits of them: `SELECT c.id
  // FROM patients c WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.id BETWEEN 1 AND 12 AND CASE WHEN c.id IN
  // (...) ...) LIMIT 1` returns the id whose bits are twelve patients' (the fourteenth outside attack). The candidates
  // are rows of the relations the statement scans, each at most 2^SELECTION_BITS rows.
  const choosing = (classification.choosers ?? [])
    .map((r) => `${r.schema}.${r.table}`)
    .filter((t) => phiTables.has(t));
  if (choosing.length > 0) {
    let candidates = 0;
    for (const r of classification.scans ?? []) candidates += r.scans ?? 0;
    const bits = SELECTION_BITS * Math.max(1, candidates);
    for (const t of choosing) {
      phiResultTables.add(t);
      occurrences.set(t, (occurrences.get(t) ?? 0) + bits);
    }
  }
  return {
    phiTables,
    predicateTables,
    readTables,
    phiColumnsInResult,
    phiResultTables,
    occurrences,
    uncountable,
    combining,
  };
}

/** What made rows without a relation (`Classification.generatedRows`), as reasons name it. */
const MADE_BY: Readonly<Record<string, string>> = {
  values: "VALUES",
  function_in_from: "a function in FROM",
  set_operation: "a set operation of SELECTs without FROM",
  set_returning_function: "a set-returning function",
};

/**
 * Why a condition over a PHI table may decide which of many candidate rows come back, so that the rows returned do
 * not bound what it told; undefined when it cannot. `SELECT g FROM generate_series(0, 2^20 - 1) g WHERE NOT EXISTS
 * (SELECT 1 FROM patients p WHERE p.id BETWEEN 1 AND 20 AND (p.sex = 'F')::int <> (g >> (p.id - 1)) & 1)` returns
 * the one g whose bits are twenty patients' (the thirteenth outside attack): the candidates were generated, and the
 * condition compared computed values. A chooser decides among generated rows as well: `(SELECT p.id FROM patients p
 * WHERE ... LIMIT 1) AS n` computed for each of 2^18 generated g, then `WHERE n IS NULL` one level up (the fifteenth);
 * generated candidates have no scan to bound their number. A condition over a PHI table may compare columns as they
 * are and constants, and choose among rows of relations only.
 */
function conditionChooses(
  classification: Pick<
    Classification,
    "conditionReads" | "choosers" | "generatedRows" | "computedConditions"
  >,
  phiTables: ReadonlySet<string>,
): string | undefined {
  const phi = (tables: readonly TableRef[] | undefined) =>
    (tables ?? []).some((r) => phiTables.has(`${r.schema}.${r.table}`));
  const conditions = phi(classification.conditionReads);
  const made = classification.generatedRows?.[0];
  if (made !== undefined && (conditions || phi(classification.choosers)))
    return `a condition over a PHI table choosing among rows made by ${MADE_BY[made] ?? made}`;
  if (conditions && (classification.computedConditions ?? 0) > 0)
    return "a condition over a PHI table comparing computed values";
  return undefined;
}

/** What an aggregate's cell may pass through and still count one row: the aggregate, a cast, a scalar subquery. */
const AS_IS: ReadonlySet<string> = new Set(["aggregate", "cast", "subquery"]);

/**
 * Aggregates whose value is one row's value or a truth value whatever how often each row occurs (`max`,
 * `bool_or`): a cell made by one of them from a column as it is counts as one PHI row. Every other aggregate can put
 * many rows' values into one cell: `string_agg`, `array_agg`, `json_agg` and `xmlagg` plainly, and `sum`, `avg`,
 * `bit_or` or the statistics too, given values made to add up without loss (`sum(DISTINCT power(2, patient_id))`
 * is a set of patients — the sixth outside attack).
 */
const ONE_ROW_AGGREGATES: ReadonlySet<string> = new Set([
  "any_value",
  "bool_and",
  "bool_or",
  "every",
  "max",
  "min",
]);

/**
 * Aggregates that count rows (`count`, the hypothetical-set ranks) or pick the most frequent value (`mode`): one
 * fact per cell while every row occurs once, but a weighted sum when rows can be made to repeat — `count(*)` over
 * patients joined to `generate_series` rows `k <= 1 << (id % 12)` adds twelve patients' bits into one cell (the
 * tenth outside attack). Allowed only over one table scanned once (`Classification.repeatedAggregates`).
 */
const COUNTING_AGGREGATES: ReadonlySet<string> = new Set([
  "count",
  "cume_dist",
  "dense_rank",
  "mode",
  "percent_rank",
  "rank",
]);

/**
 * Aggregates written as SQL/JSON syntax (`JSON_ARRAYAGG`, `JSON_OBJECTAGG`), recorded under these names: not in
 * the catalog's aggregates, but as combining as `json_agg` (the tenth outside attack used one in a WHERE subquery).
 */
const SQL_JSON_AGGREGATES: ReadonlySet<string> = new Set(["json_arrayagg", "json_objectagg"]);

/** Window functions proper: each row's value is computed from other rows (`row_number`, `lag`...). */
export const WINDOW_FUNCTIONS: ReadonlySet<string> = new Set([
  "row_number",
  "rank",
  "dense_rank",
  "percent_rank",
  "cume_dist",
  "ntile",
  "lag",
  "lead",
  "first_value",
  "last_value",
  "nth_value",
]);

/**
 * Why a statement that reads a PHI table may put many rows into one cell, so that its result rows cannot count its
 * PHI rows; undefined when it cannot. An allow-list over the whole statement, whatever a cell's source columns (a
 * PHI column that only orders a window, filters a join or decides an EXISTS shapes the cell as much as one it
 * copies — the seventh outside attack): the statement may aggregate only with {@link ONE_ROW_AGGREGATES} over a
 * column as it is, and with {@link COUNTING_AGGREGATES} only over one table scanned once; it uses no SQL/JSON
 * aggregate, no window function, no `ARRAY(SELECT ...)`, no set-returning function fed a
 * column's value (`generate_series(1, power(2, patient_id))` under a count is a set of patients) and no
 * user-defined routine.
 */
function rowsCombined(
  classification: Pick<
    Classification,
    "outputs" | "exposures" | "functions" | "repeatedAggregates" | "computedAggregates"
  >,
): string | undefined {
  for (const f of classification.functions) {
    if (f.origin === "user") return `the user-defined routine ${f.name}`;
    if (WINDOW_FUNCTIONS.has(f.name)) return `the window function ${f.name}`;
    if (SQL_JSON_AGGREGATES.has(f.name)) return `the aggregate ${f.name}`;
    // Anywhere, not only in the result: ORDER BY, HAVING and a WHERE subquery pass a packed value on as well.
    if (classification.computedAggregates?.includes(f.name) === true)
      return `the aggregate ${f.name} over a computed value`;
    if (!AGGREGATE_FUNCTIONS.has(f.name) || ONE_ROW_AGGREGATES.has(f.name)) continue;
    if (!COUNTING_AGGREGATES.has(f.name)) return `the aggregate ${f.name}`;
    if (classification.repeatedAggregates?.includes(f.name) === true)
      return `the aggregate ${f.name} over rows that may repeat (a join, a generator, a subquery, a CTE or a view)`;
  }
  for (const e of classification.exposures ?? []) {
    for (const tag of e.via) {
      if (tag === "sublink:array") return "ARRAY(SELECT ...)";
      if (tag.startsWith("window_")) return "a window";
      if (tag === "srf_argument") return "a set-returning function fed a column's value";
    }
  }
  for (const output of classification.outputs) {
    if (output.opaque === true) return "a user-defined routine";
    if (output.transforms.includes("window")) return "a window";
    // An aggregate counts one row only over a column as it is (a cast or a subquery around it aside).
    if (output.transforms.includes("aggregate") && output.transforms.some((t) => !AS_IS.has(t)))
      return `an aggregate over a computed value (column ${output.position + 1})`;
  }
  return undefined;
}

/**
 * How many PHI rows of each table in `carried` one result row takes: the occurrences of the table whose protected
 * columns reach the result. A ten-way self-join of `patients` on key offsets returns ten patients per result row,
 * a CTE read twice two, a scalar subquery per row one more. The analysis counts the table's scans (every FROM
 * reference, a CTE's body once per reference) but not which scan each output column comes from, so the weight is
 * the smaller of the scans and the output columns carrying the table's protected values or whole rows (a cell
 * holds one row's value: a value combining several is nulled or refused by masking). A scan count the analysis
 * cannot know (WITH RECURSIVE) leaves the columns; a classification without scans (recorded before analyzer 4)
 * counts 1, as then. Never less than 1.
 */
export function phiOccurrences(
  classification: Pick<Classification, "outputs" | "scans">,
  carried: ReadonlySet<string>,
  phiTables: ReadonlySet<string>,
): Map<string, number> {
  const weights = new Map<string, number>();
  if (classification.scans === undefined) {
    for (const t of carried) weights.set(t, 1);
    return weights;
  }
  const scans = new Map(classification.scans.map((r) => [`${r.schema}.${r.table}`, r.scans]));
  const cells = new Map<string, number>();
  for (const output of classification.outputs) {
    // An aggregate's cell (a group's max) is not a column as it is: the caller counts it as a fact of its own.
    if (output.transforms.includes("aggregate")) continue;
    const tables = new Set<string>();
    for (const s of output.sources) tables.add(`${s.schema}.${s.table}`);
    for (const r of output.wholeRows)
      if (phiTables.has(`${r.schema}.${r.table}`)) tables.add(`${r.schema}.${r.table}`);
    for (const t of tables) if (carried.has(t)) cells.set(t, (cells.get(t) ?? 0) + 1);
  }
  for (const t of carried) {
    // Every scan counts, whether its values reach a cell or only pick which row does (`JOIN patients x ON x.id =
    // 1 + (p0.sex = 'F')::int + 2 * (p1.sex = 'F')::int ...` copies one id chosen by thirteen patients — the eighth
    // outside attack); scans the analysis cannot count (WITH RECURSIVE) make the table uncountable.
    const scanned = scans.get(t);
    const rows = scanned === null ? Number.POSITIVE_INFINITY : (scanned ?? cells.get(t) ?? 0);
    weights.set(t, Math.max(1, rows));
  }
  return weights;
}

/**
 * The PHI rows one result row takes from `tables`: the sum of the weights of those it carries (a row joining a
 * patient to an encounter takes one row of each), at least 1.
 */
function weightOf(
  tables: Iterable<string>,
  f: { occurrences: ReadonlyMap<string, number>; phiResultTables: ReadonlySet<string> },
): number {
  let sum = 0;
  for (const t of tables) if (f.phiResultTables.has(t)) sum += f.occurrences.get(t) ?? 1;
  return Math.max(1, sum);
}

type Facts = ReturnType<typeof facts>;

/** What a rule may ask: the planner (once per statement) and the recorded window (once per rule). */
interface Probes {
  estimate(): Promise<number>;
  window(tables: readonly string[], seconds: number): Promise<number>;
}

/**
 * Why `tables` (all read by the statement) are not restricted, or undefined when they are. A table with no
 * predicate is never restricted. A predicate restricts only when the planner estimates at most `threshold` rows
 * for the whole statement — a predicate that is always true (`id > 0`, `id IS NOT NULL`) restricts nothing, and a
 * protected lookup restricts only the occurrence it constrains (a cross join with another occurrence is as large
 * as that occurrence). The planner never sees protected values looked up: the estimate is value-blind
 * (`blindLookups`), so it cannot tell the caller how often a value occurs.
 */
async function unrestricted(
  tables: readonly string[],
  f: Facts,
  threshold: number,
  probes: Probes,
): Promise<string | undefined> {
  const bare = tables.filter((t) => !f.predicateTables.has(t));
  if (bare.length > 0) return `${bare.sort().join(", ")} read with no restrictive predicate`;
  const estimated = await probes.estimate();
  const weight = weightOf(tables, f);
  const rows = estimated * weight;
  if (rows <= threshold) return undefined;
  const times = weight > 1 ? ` (${weight} PHI rows per result row)` : "";
  // The estimate itself is never shown: a caller who stacks scans of one patient's rows raises it to a power of its
  // choosing, and even its order of magnitude then spells that patient's planner statistics (the twenty-second
  // outside attack read all 10,000 patients' encounter frequencies from the exponent shown, 950 dry runs).
  return `${tables.join(", ")} read with predicates the planner estimates to leave more than ${threshold} PHI rows${times}`;
}

/**
 * Why a restricted read still counts as bulk: the caller already took `threshold` PHI rows or more, unapproved,
 * within the window — from every PHI table together, whatever statements took them. A read sliced by
 * LIMIT/OFFSET, key ranges, modulo or other column lists is one read, so once its slices add up to a bulk read the
 * next slice needs the approval the whole would (and so do many small lookups, and slices taken from several PHI
 * tables). Under the window: the PHI rows the read may still return (its budget, enforced while it runs);
 * undefined when its result carries no column of a PHI table among `tables`.
 */
async function overWindow(
  tables: readonly string[],
  f: Facts,
  threshold: number,
  seconds: number,
  probes: Probes,
): Promise<string | number | undefined> {
  if (!tables.some((t) => f.phiResultTables.has(t))) return undefined;
  const taken = await probes.window([...f.phiTables].sort(), seconds);
  if (taken < threshold) return threshold - taken;
  return `${taken} PHI rows were already returned to this caller in the last ${seconds} s (at least ${threshold}): slices of one read count together, however they are written and whichever PHI tables they come from`;
}

/**
 * A rule fires (its reason), holds only if the statement returns more PHI rows than a budget (a condition was met
 * by an estimate, a lookup or the window, which only the rows it returns confirm), or does not apply (undefined).
 */
type RuleOutcome = { readonly reason: string } | { readonly budget: number } | undefined;

async function ruleFires(rule: RiskRule, input: RiskInput, f: Facts, probes: Probes): Promise<RuleOutcome> {
  const w = rule.when;
  const parts: string[] = [];
  let budget: number | undefined;
  const within = (rows: number): void => {
    budget = Math.min(budget ?? rows, rows);
  };
  const threshold = w.restrictedRowsAtMost ?? w.unlessLimitAtMost ?? DEFAULT_RESTRICTED_ROWS;
  const seconds = w.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
  const limit = input.classification.limit;
  if (w.phiTableWithoutPredicate) {
    const phiRead = [...f.readTables].filter((t) => f.phiTables.has(t)).sort();
    if (phiRead.length === 0) return undefined;
    const combined = phiRead.filter((t) => f.uncountable.has(t));
    if (combined.length > 0)
      parts.push(
        `PHI table(s) ${combined.join(", ")} are read by a statement that may combine many rows into one result cell (${f.combining ?? "a count the analysis cannot bound"}), so the PHI rows it returns cannot be counted`,
      );
    else {
      const limited =
        w.unlessLimitAtMost !== undefined &&
        limit !== null &&
        limit * weightOf(phiRead, f) <= w.unlessLimitAtMost;
      const why = limited ? undefined : await unrestricted(phiRead, f, threshold, probes);
      if (why !== undefined) parts.push(`PHI table(s) ${why}`);
      else {
        const paged = await overWindow(phiRead, f, threshold, seconds, probes);
        if (paged === undefined) return undefined;
        if (typeof paged === "number") within(paged);
        else parts.push(paged);
      }
    }
  }
  if (w.phiColumnsOver !== undefined) {
    if (f.phiColumnsInResult <= w.phiColumnsOver) return undefined;
    parts.push(`${f.phiColumnsInResult} PHI columns flow into the result (more than ${w.phiColumnsOver})`);
  }
  if (w.joinWithoutPredicate !== undefined) {
    const tables = w.joinWithoutPredicate;
    if (!tables.every((t) => f.readTables.has(t))) return undefined;
    // One restricted side restricts the join (one patient's full history, or a day's encounters' patients).
    const sides = await Promise.all(tables.map((t) => unrestricted([t], f, threshold, probes)));
    if (sides.some((s) => s === undefined)) {
      const paged = await overWindow(tables, f, threshold, seconds, probes);
      if (paged === undefined) return undefined;
      if (typeof paged === "number") within(paged);
      else parts.push(paged);
    } else parts.push(`${tables.join(" and ")} are read together: ${sides.join("; ")}`);
  }
  if (w.noPurpose) {
    if (input.purpose !== null) return undefined;
    parts.push("no purpose was given");
  }
  if (w.estimatedRowsOver !== undefined) {
    const rows = await probes.estimate();
    if (rows > w.estimatedRowsOver) parts.push(`the planner estimates more than ${w.estimatedRowsOver} rows`);
    else if (f.phiResultTables.size > 0) within(w.estimatedRowsOver * weightOf([...f.phiResultTables], f));
    else return undefined;
  }
  if (budget !== undefined) return { budget };
  return { reason: `${parts.join("; ")} (${rule.id}: ${rule.description})` };
}

/**
 * A row estimate as the rules decide by it: the nearest power of ten (1 for anything up to 1, unbounded for a figure
 * that is not a number). A decision on the exact figure would tell it: a caller who adds constant columns moves a
 * statement's weight one PHI row at a time and reads the estimate off where the decision flips (the twentieth outside
 * attack read patients' encounter counts from the planner's most-common-values lists through dry runs). Rounding
 * down is safe: an allowed statement still returns at most its row budget. Callers never see the figure.
 */
export function estimateMagnitude(rows: number): number {
  if (Number.isNaN(rows)) return Number.POSITIVE_INFINITY;
  if (rows <= 1) return 1;
  return 10 ** Math.round(Math.log10(rows));
}

/**
 * A planner cost as the cost limit decides by it: the power of ten at or above it, so where refusals start tells no
 * more than that. Against a limit that is a power of ten it decides as the exact cost would; never laxer, since
 * nothing bounds a cost once the statement runs but its timeout.
 */
export function costCeiling(cost: number): number {
  if (Number.isNaN(cost)) return Number.POSITIVE_INFINITY;
  let ceiling = 1;
  while (ceiling < cost && Number.isFinite(ceiling)) ceiling *= 10;
  return ceiling;
}

/**
 * Applies the policy's risk rules (every condition of a rule must hold). Denial wins over approval. The planner is
 * asked at most once, and only for a rule whose other conditions already hold. (How protected values may be used
 * at all is the opacity rules' decision, made before: `checkOpacity`.)
 */
export async function assessRisk(input: RiskInput): Promise<RiskAssessment> {
  const f = facts(input);
  const risk = input.policy.document.risk;
  let estimatedRows: number | null = null;
  let windowRows: number | null = null;
  const windows = new Map<string, Promise<number>>();
  const now = input.now ?? new Date();
  const probes: Probes = {
    async estimate() {
      estimatedRows ??= await input.estimateRows();
      return estimateMagnitude(estimatedRows);
    },
    async window(tables, seconds) {
      const key = `${seconds}\u0000${[...tables].sort().join(",")}`;
      let pending = windows.get(key);
      if (pending === undefined) {
        const since = new Date(now.getTime() - seconds * 1000);
        pending = input.windowRows === undefined ? Promise.resolve(0) : input.windowRows(tables, since);
        windows.set(key, pending);
      }
      const rows = await pending;
      windowRows = Math.max(windowRows ?? 0, rows);
      return rows;
    },
  };
  const weight = weightOf([...f.phiResultTables], f);
  const weighted = weight > 1 ? { weight } : {};
  const heavy = [...f.occurrences].filter(([, w]) => w > 1).sort(([a], [b]) => (a < b ? -1 : 1));
  const approvals: { rule: string; reason: string }[] = [];
  const denials: { rule: string; reason: string }[] = [];
  let budget: RowBudget | null = null;

  for (const rule of risk.rules) {
    if (rule.principals !== undefined && !rule.principals.includes(input.principalId)) continue;
    const outcome = await ruleFires(rule, input, f, probes);
    if (outcome === undefined) continue;
    if ("budget" in outcome) {
      // The smallest budget governs; at equal budgets a denying rule wins.
      const action = rule.action === "deny" ? "deny" : "require_approval";
      const tighter =
        budget === null ||
        outcome.budget < budget.rows ||
        (outcome.budget === budget.rows && action === "deny" && budget.action !== "deny");
      if (tighter) budget = { rows: outcome.budget, rule: rule.id, action, ...weighted };
      continue;
    }
    (rule.action === "deny" ? denials : approvals).push({ rule: rule.id, reason: outcome.reason });
  }
  const fired = denials.length > 0 ? denials : approvals;
  const outcome = denials.length > 0 ? "deny" : approvals.length > 0 ? "require_approval" : "allow";
  return {
    outcome,
    reasons: fired.map((r) => r.reason),
    rules: fired.map((r) => r.rule),
    estimatedRows,
    windowRows,
    budget: outcome === "allow" ? budget : null,
    occurrences: heavy.length === 0 ? null : Object.fromEntries(heavy),
    phiTables: [...f.phiResultTables].sort(),
  };
}
