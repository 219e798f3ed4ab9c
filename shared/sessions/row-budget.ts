// The PHI row budget of an unapproved statement: what exceeding it means, and which records it applies to.

import type { Decision } from "#shared/policy/evaluate.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";

/** A decision's row budget. */
export type RowBudget = NonNullable<Decision["rowBudget"]>;

/**
 * The statement returned more rows than its budget: nothing of its result is kept or returned, and the rule that
 * let it through applies as if it had fired when it was decided.
 */
export class RowBudgetExceeded extends Error {
  override readonly name = "RowBudgetExceeded";
  constructor(readonly budget: RowBudget) {
    super(budgetReason(budget));
  }
}

/** The reason recorded (and shown to the caller) when a statement exceeds its budget. */
export function budgetReason(budget: RowBudget): string {
  const each = (budget.weight ?? 1) > 1 ? ` (${budget.weight} per result row)` : "";
  return `returned more than ${budget.rows} PHI rows${each} without an approval (${budget.rule})`;
}

/** The most result rows a budget lets through: its PHI rows over the PHI rows each result row takes. */
export function budgetResultRows(budget: RowBudget): number {
  return Math.floor(budget.rows / Math.max(1, budget.weight ?? 1));
}

/**
 * The budget a recorded session runs under: its decision's, unless it runs on an approval (an approval authorizes
 * running the statement, whatever it returns).
 */
export function budgetOf(record: SessionRecord): RowBudget | undefined {
  if (record.approval !== null || record.decision.outcome !== "allow") return undefined;
  return record.decision.rowBudget;
}
