// The masking plan: from each output column's lineage and the policy's rules, what masking it gets — or why the statement is denied.
import { MaskingFailedError } from "#shared/errors.ts";
import type {
  ColumnRef,
  OutputColumnLineage,
  ResultColumn,
  TableRef,
  TransformKind,
} from "#shared/sql/types.ts";
import type { DetectorKind } from "./detector-rules.ts";
import type { ColumnRule, MaskingStrategy } from "./strategies.ts";
import { strictestRule } from "./strictness.ts";

/** What the plan needs from the policy (the parsed masking section, with per-principal overrides merged in). */
export interface MaskingPlanPolicy {
  /** `schema.table.column` → rule. */
  readonly rules: Readonly<Record<string, ColumnRule>>;
  /** Transformed protected columns: `strictest` nulls them, `deny` refuses the statement. */
  readonly onTransform: "strictest" | "deny";
  /** Whole-row references to a table with protected columns are always denied. */
  readonly wholeRow: "deny";
  /** Free-text columns the content detectors run over, and the kinds that run. */
  readonly detectors: { readonly columns: readonly string[]; readonly kinds: readonly DetectorKind[] };
}

/** The masking of one output column. */
export interface PlannedColumn {
  /** 0-based position in the result. */
  readonly position: number;
  readonly name: string;
  /**
   * Which rule applies: a protected column's name (`public.patients.ssn`), several joined by `+` for a copy
   * from several columns (a set operation), `derived:` + those names for a transformed value; for
   * detector-only columns the detector column(s) the same way. Null when the column is not masked.
   */
  readonly rule: string | null;
  /** The strategy applied, `detect` when only the content detectors run, null when not masked. */
  readonly strategy: MaskingStrategy | "detect" | null;
  /** Detector kinds run over the value (before a `partial` rule; never after a rule that leaves no original text). */
  readonly detectors: readonly DetectorKind[];
  /** The effective rule with its parameters (the strictest of the sources'), or null. */
  readonly spec: ColumnRule | null;
}

/** One masked column as dryRun and the session record report it (contract: `masking: [{column, rule, strategy}]`). */
export interface MaskingSummaryEntry {
  readonly column: string;
  readonly position: number;
  readonly rule: string;
  readonly strategy: MaskingStrategy | "detect";
}

/** The statement may run; every output column's masking. */
export interface MaskingPlan {
  readonly decision: "allow";
  readonly columns: readonly PlannedColumn[];
  /** The masked columns only, in order. */
  readonly summary: readonly MaskingSummaryEntry[];
  /**
   * Set by the decision: the statement reads a protected column somewhere, so a failure while it runs answers
   * one generic error (which error it raised could depend on a protected value).
   */
  readonly protectedInput?: boolean;
  /** Set by the decision: the statement joins rows on protected values (see `ExecuteRequest.opaqueJoins`). */
  readonly opaqueJoins?: boolean;
}

/** The statement may not run: its result could not be masked safely. Reasons name columns and tables, never values. */
export interface MaskingDenial {
  readonly decision: "deny";
  readonly reasons: readonly string[];
}

/** `schema.table.column`. */
export function columnKey(ref: ColumnRef): string {
  return `${ref.schema}.${ref.table}.${ref.column}`;
}

function tableKey(ref: TableRef): string {
  return `${ref.schema}.${ref.table}`;
}

function tablesOf(columns: Iterable<string>): Set<string> {
  const tables = new Set<string>();
  for (const key of columns) tables.add(key.slice(0, key.lastIndexOf(".")));
  return tables;
}

/**
 * Transformations that can rewrite text (any function, cast, operator, CASE, ...): after them the content
 * detectors may not recognize what they look for (`reverse(notes)`, `notes::bytea`, `replace(notes, '-', '')`,
 * chunks from `substr`). Aggregates, windows, JSON/XML builders, whole rows, COALESCE, subqueries, arrays and set
 * operations carry the text as it was, so the detectors still see it. JSON/XML path evaluators (`xpath`,
 * `jsonb_path_query`, XMLTABLE columns with a PATH, ...) are marked `function` by the analysis as well.
 */
const REWRITING: ReadonlySet<TransformKind> = new Set(["function", "cast", "operator", "case", "other"]);

function describe(o: OutputColumnLineage): string {
  return `Output column "${o.name}" (#${o.position + 1})`;
}

/**
 * Plans the masking of a statement's result from its output-column lineage:
 * - a `copy` of protected columns gets their rule (the strictest when a set operation merges several);
 * - a value transformed from a protected column (any function, cast, operator, aggregate, CASE, ...) no longer
 *   has the column's format, and even its presence can be chosen by the query (`CASE WHEN ssn LIKE '1%' THEN 'x'
 *   END`), so `partial`, `generalize`, `tokenize` and even `redact` could leak: it is nulled (`onTransform:
 *   strictest`) or the statement is denied (`deny`);
 * - a whole row, or a JSON/XML value built from a protected column, is denied (it cannot be masked exactly);
 * - a value from a detector column gets the content detectors (whole rows of a table with detector columns but
 *   no protected column included), unless a rule already leaves none of its original text; a value a function,
 *   cast, operator or CASE made from it may no longer look like what the detectors find (`reverse(notes)`,
 *   `notes::bytea`), so it is nulled or denied like a transformed protected value.
 * `resultTypes`, when known (after execution), must have one entry per output column. Throws
 * `MaskingFailedError` when the lineage does not describe a well-formed result.
 */
export function planMasking(
  outputs: readonly OutputColumnLineage[],
  resultTypes: readonly ResultColumn[] | undefined,
  policy: MaskingPlanPolicy,
): MaskingPlan | MaskingDenial {
  if (resultTypes !== undefined && resultTypes.length !== outputs.length) {
    throw new MaskingFailedError("The result does not match the analyzed statement; nothing was returned.");
  }
  const tables: PolicyTables = {
    protectedTables: tablesOf(Object.keys(policy.rules)),
    detectorColumns: new Set(policy.detectors.columns),
    detectorTables: tablesOf(policy.detectors.columns),
  };
  const reasons: string[] = [];
  const columns: PlannedColumn[] = [];
  outputs.forEach((o, index) => {
    if (o.position !== index) {
      throw new MaskingFailedError("The statement analysis is inconsistent; nothing was returned.");
    }
    const planned = planColumn(o, policy, tables, reasons);
    if (planned !== undefined) columns.push(planned);
  });
  if (reasons.length > 0) return { decision: "deny", reasons };
  return { decision: "allow", columns, summary: summaryOf(columns) };
}

/** The tables and columns the policy protects or scans, looked up once per statement. */
interface PolicyTables {
  readonly protectedTables: ReadonlySet<string>;
  readonly detectorColumns: ReadonlySet<string>;
  readonly detectorTables: ReadonlySet<string>;
}

/** An output column's sources as the policy sees them: protected columns, and detector columns or tables. */
interface ColumnSources {
  readonly protectedKeys: readonly string[];
  /** Detector columns, and `schema.table.*` for a whole row of a table with detector columns only. */
  readonly detectorKeys: readonly string[];
  /** The detector kinds the column's value gets (none when it reads no detector column). */
  readonly kinds: readonly DetectorKind[];
}

/** One output column's masking, or undefined when it denies the statement (its reasons added to `reasons`). */
function planColumn(
  o: OutputColumnLineage,
  policy: MaskingPlanPolicy,
  tables: PolicyTables,
  reasons: string[],
): PlannedColumn | undefined {
  const sources = sourcesOf(o, policy, tables, reasons);
  if (sources.protectedKeys.length > 0) return planProtected(o, sources, policy, reasons);
  if (sources.kinds.length > 0) return planDetected(o, sources, policy, reasons);
  return { position: o.position, name: o.name, rule: null, strategy: null, detectors: [], spec: null };
}

/** What an output column reads that the policy names; whole rows of protected tables and JSON/XML built from protected columns add their reasons. */
function sourcesOf(
  o: OutputColumnLineage,
  policy: MaskingPlanPolicy,
  tables: PolicyTables,
  reasons: string[],
): ColumnSources {
  const keys = [...new Set(o.sources.map(columnKey))].sort();
  const protectedKeys = keys.filter((k) => Object.hasOwn(policy.rules, k));
  const detectorKeys = keys.filter((k) => tables.detectorColumns.has(k));
  let wholeRowDetectors = false;
  for (const t of o.wholeRows) {
    const table = tableKey(t);
    if (tables.protectedTables.has(table)) {
      reasons.push(
        `${describe(o)} contains whole rows of ${table}, which has protected columns; select the columns you need by name so each can be masked.`,
      );
    } else if (tables.detectorTables.has(table)) {
      wholeRowDetectors = true;
      detectorKeys.push(`${table}.*`);
    }
  }
  if (protectedKeys.length > 0 && o.transforms.includes("json_xml")) {
    reasons.push(
      `${describe(o)} builds a JSON/XML value from protected column(s) ${protectedKeys.join(", ")}, which cannot be masked inside; select the columns by name instead.`,
    );
  }
  const kinds = detectorKeys.length > 0 || wholeRowDetectors ? policy.detectors.kinds : [];
  return { protectedKeys, detectorKeys, kinds };
}

/** The masking of a column that reads protected columns: their strictest rule for a copy, else nulled or denied. */
function planProtected(
  o: OutputColumnLineage,
  { protectedKeys, kinds }: ColumnSources,
  policy: MaskingPlanPolicy,
  reasons: string[],
): PlannedColumn | undefined {
  const copy = o.kind === "copy" && o.wholeRows.length === 0;
  if (!copy && policy.onTransform === "deny") {
    const how = o.transforms.length > 0 ? ` (${[...new Set(o.transforms)].join(", ")})` : "";
    reasons.push(
      `${describe(o)} transforms protected column(s) ${protectedKeys.join(", ")}${how}; the policy does not allow transformed protected values — select the column itself to get its masked value.`,
    );
    return undefined;
  }
  const spec: ColumnRule | null = copy
    ? strictestRule(protectedKeys.map((k) => policy.rules[k] as ColumnRule))
    : { strategy: "nullify" };
  if (spec === null) throw new MaskingFailedError("The masking plan is inconsistent; nothing was returned.");
  return {
    position: o.position,
    name: o.name,
    rule: copy ? protectedKeys.join("+") : `derived:${protectedKeys.join("+")}`,
    strategy: spec.strategy,
    detectors: spec.strategy === "partial" ? kinds : [],
    spec,
  };
}

/** The masking of a column that reads only detector columns: scanned as it is, nulled or denied once rewritten. */
function planDetected(
  o: OutputColumnLineage,
  { detectorKeys, kinds }: ColumnSources,
  policy: MaskingPlanPolicy,
  reasons: string[],
): PlannedColumn | undefined {
  const plain = { position: o.position, name: o.name };
  const copy = o.kind === "copy" && o.wholeRows.length === 0;
  const rule = detectorKeys.join("+");
  const rewriting = copy ? [] : [...new Set(o.transforms.filter((t) => REWRITING.has(t)))];
  if (rewriting.length === 0)
    return {
      ...plain,
      rule: copy ? rule : `derived:${rule}`,
      strategy: "detect",
      detectors: kinds,
      spec: null,
    };
  if (policy.onTransform === "deny") {
    reasons.push(
      `${describe(o)} rewrites free-text column(s) ${rule} (${rewriting.join(", ")}), which the content detectors cannot scan reliably; select the column itself to get its scanned value.`,
    );
    return undefined;
  }
  return {
    ...plain,
    rule: `derived:${rule}`,
    strategy: "nullify",
    detectors: [],
    spec: { strategy: "nullify" },
  };
}

/** The masked columns, in order, as the contract reports them. */
function summaryOf(columns: readonly PlannedColumn[]): MaskingSummaryEntry[] {
  const summary: MaskingSummaryEntry[] = [];
  for (const c of columns) {
    if (c.rule !== null && c.strategy !== null) {
      summary.push({ column: c.name, position: c.position, rule: c.rule, strategy: c.strategy });
    }
  }
  return summary;
}
