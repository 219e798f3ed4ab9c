// Risk assessment of an allowed statement: the rules that send it to a human (or deny it), with their reasons.

import type { MaskingPlanPolicy } from "#shared/masking/plan.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { RiskRule } from "#shared/policy/schema.ts";
import type { Classification } from "#shared/sql/types.ts";

/** What the risk rules concluded. */
export interface RiskAssessment {
  readonly outcome: "allow" | "require_approval" | "deny";
  readonly reasons: readonly string[];
  readonly rules: readonly string[];
  /** The planner's estimate, when a rule needed it. */
  readonly estimatedRows: number | null;
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
}

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
  // A lookup by literal restricts its table wherever it sits (an INNER JOIN's ON as well as WHERE).
  let protectedLookup = false;
  const detectorColumns = new Set(masking.detectors.columns);
  for (const e of classification.exposures ?? []) {
    if (!e.via.includes("lookup")) continue;
    predicateTables.add(`${e.schema}.${e.table}`);
    const key = `${e.schema}.${e.table}.${e.column}`;
    if (protectedColumns.has(key) || detectorColumns.has(key)) protectedLookup = true;
  }
  const readTables = new Set(
    classification.relations
      .filter((r) => (r.access ?? ["read"]).includes("read"))
      .map((r) => `${r.schema}.${r.table}`),
  );
  const phiColumnsInResult = new Set<string>();
  for (const output of classification.outputs) {
    for (const s of output.sources) {
      const key = `${s.schema}.${s.table}.${s.column}`;
      if (protectedColumns.has(key)) phiColumnsInResult.add(key);
    }
  }
  return { phiTables, predicateTables, readTables, phiColumnsInResult, protectedLookup };
}

async function ruleFires(
  rule: RiskRule,
  input: RiskInput,
  f: ReturnType<typeof facts>,
  estimate: () => Promise<number>,
): Promise<string | undefined> {
  const w = rule.when;
  const parts: string[] = [];
  if (w.phiTableWithoutPredicate) {
    const limit = input.classification.limit;
    if (w.unlessLimitAtMost !== undefined && limit !== null && limit <= w.unlessLimitAtMost) return undefined;
    const bare = [...f.readTables].filter((t) => f.phiTables.has(t) && !f.predicateTables.has(t));
    if (bare.length === 0) return undefined;
    parts.push(`PHI table(s) ${bare.sort().join(", ")} read with no restrictive predicate`);
  }
  if (w.phiColumnsOver !== undefined) {
    if (f.phiColumnsInResult.size <= w.phiColumnsOver) return undefined;
    parts.push(
      `${f.phiColumnsInResult.size} PHI columns flow into the result (more than ${w.phiColumnsOver})`,
    );
  }
  if (w.joinWithoutPredicate !== undefined) {
    const tables = w.joinWithoutPredicate;
    if (!tables.every((t) => f.readTables.has(t)) || tables.some((t) => f.predicateTables.has(t)))
      return undefined;
    parts.push(`${tables.join(" and ")} are read together with no restrictive predicate`);
  }
  if (w.noPurpose) {
    if (input.purpose !== null) return undefined;
    parts.push("no purpose was given");
  }
  if (w.estimatedRowsOver !== undefined) {
    // The planner would answer from the statistics of the protected values looked up (how many patients are
    // named Nora) — to the caller, before any approval. The lookup restricts the statement already.
    if (f.protectedLookup) return undefined;
    const rows = await estimate();
    if (rows <= w.estimatedRowsOver) return undefined;
    parts.push(
      `the planner estimates about ${orderOfMagnitude(rows)} rows (more than ${w.estimatedRowsOver})`,
    );
  }
  return `${parts.join("; ")} (${rule.id}: ${rule.description})`;
}

/** An estimate as callers see it: its order of magnitude (`10^5`), not the planner's exact figure. */
export function orderOfMagnitude(rows: number): string {
  if (!Number.isFinite(rows) || rows < 1) return "1";
  return `10^${Math.round(Math.log10(rows))}`;
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
  const estimate = async (): Promise<number> => {
    estimatedRows ??= await input.estimateRows();
    return estimatedRows;
  };
  const approvals: { rule: string; reason: string }[] = [];
  const denials: { rule: string; reason: string }[] = [];

  for (const rule of risk.rules) {
    if (rule.principals !== undefined && !rule.principals.includes(input.principalId)) continue;
    const reason = await ruleFires(rule, input, f, estimate);
    if (reason === undefined) continue;
    (rule.action === "deny" ? denials : approvals).push({ rule: rule.id, reason });
  }
  const fired = denials.length > 0 ? denials : approvals;
  return {
    outcome: denials.length > 0 ? "deny" : approvals.length > 0 ? "require_approval" : "allow",
    reasons: fired.map((r) => r.reason),
    rules: fired.map((r) => r.rule),
    estimatedRows,
  };
}
