// Re-analyzes a recorded export from its SQL text with this build's parser, analyzer and rules, trusting nothing the record says about it.

import { BadRequestError } from "#shared/errors.ts";
import type { Problem } from "#shared/evidence/problems.ts";
import { isSecondLine } from "#shared/masking/masker.ts";
import type { Decision } from "#shared/policy/evaluate.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { decideStatement, type FullDecision } from "#shared/sessions/decide.ts";
import { ledgerTablesOf } from "#shared/sessions/read-ledger.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { ANALYZER_VERSION } from "#shared/sql/analyzer-version.ts";
import { analyzeSql } from "#shared/sql/parse-and-classify.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog, Classification } from "#shared/sql/types.ts";

/** The masking of one output column, as recorded and as required (`null`: none). */
export type ColumnMasking = { readonly rule: string; readonly strategy: string } | null;

/**
 * What the verifier already derived for the export from its recorded analysis (the same policy and rules): a
 * difference re-analysis finds that this derivation shows too is reported once, by the check that uses it.
 */
export interface DerivedVerdict {
  readonly outcome: Decision["outcome"];
  /** Per output column; undefined when the masking could not be derived from the recorded analysis. */
  readonly masking: readonly ColumnMasking[] | undefined;
}

/** What re-analysis found: whether anything differs from the record, and the findings no other check reports. */
export interface Reanalysis {
  readonly differs: boolean;
  readonly findings: readonly Problem[];
}

/** What re-analysis needs. */
export interface ReanalysisInput {
  readonly record: SessionRecord;
  /** The policy the record's decision cites. */
  readonly policy: LoadedPolicy;
  /** The catalog snapshot the record says the statement was analyzed against. */
  readonly catalog: Catalog;
  /** Undefined when the recorded analysis could not be decided at all. */
  readonly derived: DerivedVerdict | undefined;
}

const sameMasking = (a: ColumnMasking | undefined, b: ColumnMasking | undefined): boolean =>
  (a ?? null) === null
    ? (b ?? null) === null
    : b !== null && b !== undefined && a?.rule === b.rule && a?.strategy === b.strategy;

const describe = (m: ColumnMasking): string => (m === null ? "nothing" : `${m.strategy} (${m.rule})`);

function recordedAnalyzer(record: SessionRecord): string {
  const v = record.analysis?.analyzerVersion;
  return v === undefined ? "an unrecorded analyzer version" : `analyzer ${v}`;
}

/** Analyses by catalog and SQL text (classification is pure): statements a job repeats are analyzed once. */
const analyses = new WeakMap<Catalog, Map<string, Classification | BadRequestError>>();
const MAX_CACHED_PER_CATALOG = 10_000;
/** Longer statements are analyzed each time: a hostile bundle's huge texts must not pile up in the cache. */
const MAX_CACHED_SQL_CHARS = 64 * 1024;

/**
 * The statement's classification, or the `BadRequestError` the analyzer refuses it with. Anything else (the parser
 * failing to load or faulting) is thrown: it says nothing about the statement.
 */
function analyzeOnce(sql: string, catalog: Catalog): Classification | BadRequestError {
  let byText = analyses.get(catalog);
  if (byText === undefined) {
    byText = new Map();
    analyses.set(catalog, byText);
  }
  let result = byText.get(sql);
  if (result === undefined) {
    try {
      result = analyzeSql(sql, catalog).classification;
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
      result = error;
    }
    if (byText.size < MAX_CACHED_PER_CATALOG && sql.length <= MAX_CACHED_SQL_CHARS) byText.set(sql, result);
  }
  return result;
}

async function decideAgain(
  record: SessionRecord,
  policy: LoadedPolicy,
  classification: Classification,
): Promise<FullDecision> {
  // Offline: the planner's estimate is the one recorded when the gateway decided (or showed the approvers).
  const estimate = record.decision.estimatedRows ?? record.approval?.estimatedRows ?? null;
  return decideStatement({
    policy,
    context: { devIssuer: record.decision.matchContext?.devIssuer ?? undefined },
    principal: record.principal,
    classification,
    purpose: record.request.purpose,
    estimateRows: async () => {
      if (typeof estimate === "number") return estimate;
      throw new Error("its risk rules now need a row estimate the record does not carry");
    },
    // The caller's earlier PHI rows in a rule's window: as the gateway counted them from the read ledger.
    windowRows: async () => record.decision.windowRows ?? 0,
    // The planner's cost as recorded, checked against the limit of the policy in force (`maxPlannerCost`).
    estimateCost: async () => {
      const cost = record.decision.estimatedCost;
      if (typeof cost === "number") return cost;
      throw new Error("the policy limits the planner's cost, which the record does not carry");
    },
  });
}

/**
 * Parses the recorded SQL text, classifies it against `catalog`, decides it from `policy` as the gateway does
 * (`decideStatement`, with the recorded principal, purpose, issuer context and row estimate) and plans its masking;
 * then compares with what the record says happened: a denial, a review the export did not get, approval rules the
 * approvers were not shown, or a column masked otherwise is a `reanalysis` finding (unless the checks from the
 * recorded analysis report the same difference).
 */
export async function reanalyzeExport(input: ReanalysisInput): Promise<Reanalysis> {
  const { record, policy, catalog, derived } = input;
  const id = record.sessionId;
  const who = `session ${id} (recorded by ${recordedAnalyzer(record)}; re-analyzed by analyzer ${ANALYZER_VERSION})`;
  const finding = (message: string): Problem => ({ class: "reanalysis", message: `${who} ${message}` });
  const only = (message: string): Reanalysis => ({ differs: true, findings: [finding(message)] });
  await loadSqlParser();
  const classification = analyzeOnce(record.request.sql, catalog);
  if (classification instanceof BadRequestError) return only(`does not analyze: ${classification.message}`);
  const recordedParams = record.request.params.count;
  if (classification.paramCount !== recordedParams) {
    return only(`uses ${classification.paramCount} parameter(s), but ${recordedParams} were recorded`);
  }
  let full: FullDecision;
  try {
    full = await decideAgain(record, policy, classification);
  } catch (error) {
    return only(`cannot be re-decided: ${error instanceof Error ? error.message : "invalid record"}`);
  }
  const { decision, plan } = full;
  const policyId = policy.digest.slice(0, 12);
  if (decision.outcome === "deny" || plan === undefined) {
    // The same denial from the recorded analysis is reported as unauthorized_column.
    if (derived?.outcome === "deny") return { differs: true, findings: [] };
    return only(`would be denied by policy ${policyId}: ${decision.reasons.join("; ")}`);
  }
  const findings: Problem[] = [];
  let differs = false;
  const recorded = record.decision;
  // The read ledger and the row budget weighed each result row by these occurrences: re-derived, never read.
  for (const [table, weight] of Object.entries(decision.occurrences ?? {})) {
    const counted = recorded.occurrences?.[table] ?? 1;
    if (weight <= counted) continue;
    differs = true;
    findings.push(
      finding(
        `takes ${weight} PHI rows of ${table} per result row (occurrences of the table), but ${counted} were counted`,
      ),
    );
  }
  // The read ledger counted an unapproved session against these tables: re-derived, never read.
  const ledgered =
    record.status === "completed" && record.approval === null && (record.execution?.rowCount ?? 0) > 0;
  const counted = new Set(ledgerTablesOf(record));
  const uncounted = ledgered ? (decision.phiTables ?? []).filter((t) => !counted.has(t)) : [];
  if (uncounted.length > 0) {
    differs = true;
    findings.push(
      finding(
        `returns rows of PHI table(s) ${uncounted.join(", ")} its record did not count them against (read ledger)`,
      ),
    );
  }
  if (decision.outcome === "require_approval") {
    const unshown = decision.rules.filter((r) => !recorded.rules.includes(r));
    if (recorded.outcome === "allow") {
      differs = true;
      // The same need from the recorded analysis is reported as review_missing.
      if (derived?.outcome !== "require_approval") {
        const why = `${decision.rules.join(", ")}: ${decision.reasons.join("; ")}`;
        findings.push(finding(`would need approval (${why}), but ran on a decision to allow`));
      }
    } else if (unshown.length > 0) {
      findings.push(
        finding(`would need approval for rule(s) ${unshown.join(", ")} its approvers were not shown`),
      );
    }
  }
  const columns = record.result?.columns ?? [];
  if (columns.length !== plan.columns.length) {
    const counts = `returned ${columns.length} column(s), but its re-analysis accounts for ${plan.columns.length}`;
    return { differs: true, findings: [...findings, finding(counts)] };
  }
  columns.forEach((column, i) => {
    const planned = plan.columns[i];
    const want: ColumnMasking =
      planned === undefined || planned.rule === null || planned.strategy === null
        ? null
        : { rule: planned.rule, strategy: planned.strategy };
    if (sameMasking(want, column.masking) || (want === null && isSecondLine(column.masking))) return;
    differs = true;
    // The same requirement from the recorded analysis is reported as masking_mismatch.
    if (derived?.masking !== undefined && sameMasking(want, derived.masking[i])) return;
    findings.push(
      finding(
        `column "${column.name}" was masked as ${describe(column.masking)}; re-analyzed, policy ${policyId} requires ${describe(want)}`,
      ),
    );
  });
  return { differs: differs || findings.length > 0, findings };
}
