// The full decision for a statement: the policy's verdict, the masking plan (which can still deny), then the risk rules.

import { InternalError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import type { MaskingPlan } from "#shared/masking/plan.ts";
import { type Decision, evaluate } from "#shared/policy/evaluate.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { maskingPolicyFor } from "#shared/policy/masking-policy.ts";
import type { MatchContext } from "#shared/policy/match.ts";
import { checkOpacity, joinsOnProtected, readsProtected } from "#shared/policy/opacity.ts";
import { assessRisk, costCeiling } from "#shared/policy/risk.ts";
import { planStatementMasking } from "#shared/sessions/statement-masking.ts";
import type { Classification } from "#shared/sql/types.ts";

/** A decision, and the masking plan when the statement may run (now or after approval). */
export interface FullDecision {
  readonly decision: Decision;
  readonly plan: MaskingPlan | undefined;
}

/** What deciding needs. */
export interface DecisionInput {
  readonly policy: LoadedPolicy;
  readonly context: MatchContext;
  readonly principal: Principal;
  readonly classification: Classification;
  readonly purpose: string | null;
  /**
   * The planner's estimate (asked only when a risk rule needs it) of the statement's generic plan: the planner
   * knows none of its values, so the estimate cannot tell how often a value occurs.
   */
  readonly estimateRows: () => Promise<number>;
  /** The caller's recorded PHI rows from some tables since a time (asked only when a risk rule needs them). */
  readonly windowRows?: (tables: readonly string[], since: Date) => Promise<number>;
  /** Now (the risk rules' window ends here). */
  readonly now?: Date;
  /**
   * The planner's total cost (asked only when the policy limits it), value-blind like `estimateRows`; absent: the
   * executor cannot tell.
   */
  readonly estimateCost?: () => Promise<number>;
}

/**
 * Planner-cost admission: a statement whose estimated cost exceeds the principal's `maxPlannerCost` is refused
 * before it runs; the reason names the limit, never the estimate (stacked scans raise it to a power of the caller's
 * choosing, so even its order of magnitude would tell the planner's statistics). The cost is the generic plan's,
 * as the estimate is; fails closed when the executor cannot estimate.
 */
async function costRefusal(
  input: DecisionInput,
  limit: number | undefined,
): Promise<{ refusal?: string; cost?: number }> {
  if (limit === undefined) return {};
  if (input.estimateCost === undefined)
    return { refusal: "the planner's cost could not be estimated (the policy limits it)" };
  const cost = await input.estimateCost();
  // Decided by its order of magnitude, as shown: the exact figure would be told by where the refusal starts.
  if (costCeiling(cost) <= limit) return { cost };
  return {
    cost,
    refusal: `the planner estimates a cost over the limit ${limit}; refused before it runs`,
  };
}

/**
 * Evaluates the policy (identity, kind, functions, grants), plans masking (a result that cannot be masked
 * safely is denied), then applies the risk rules (which can require approval or deny).
 */
export async function decideStatement(input: DecisionInput): Promise<FullDecision> {
  const { policy, principal, classification } = input;
  const decision = evaluate(policy, principal, classification, input.context);
  if (decision.outcome === "deny") return { decision, plan: undefined };
  const entry = policy.document.principals.find((p) => p.id === decision.matchedPrincipal);
  // An allowing decision always names its entry; without one no rule could apply, so nothing runs.
  if (entry === undefined) throw new InternalError("an allowing decision names no policy entry");
  const masking = maskingPolicyFor(policy.document, entry);
  const opacity = checkOpacity(classification, masking);
  if (opacity.outcome === "deny") {
    return {
      decision: {
        ...decision,
        outcome: "deny",
        reasons: [...opacity.reasons],
        rules: [...decision.rules, ...opacity.rules],
      },
      plan: undefined,
    };
  }
  const unmarked = planStatementMasking(policy, decision.matchedPrincipal, classification);
  const planned =
    unmarked.decision === "allow"
      ? {
          ...unmarked,
          protectedInput: readsProtected(classification, masking),
          opaqueJoins: joinsOnProtected(classification, masking),
        }
      : unmarked;
  if (planned.decision === "deny") {
    return {
      decision: {
        ...decision,
        outcome: "deny",
        reasons: [...planned.reasons],
        rules: [...decision.rules, "masking"],
      },
      plan: undefined,
    };
  }
  const risk = await assessRisk({
    policy,
    principalId: entry.id,
    classification,
    masking,
    purpose: input.purpose,
    estimateRows: input.estimateRows,
    ...(input.windowRows === undefined ? {} : { windowRows: input.windowRows }),
    ...(input.now === undefined ? {} : { now: input.now }),
  });
  const limit = entry.limits.maxPlannerCost ?? policy.document.defaults.maxPlannerCost;
  const { refusal: costly, cost } = await costRefusal(input, limit);
  if (costly !== undefined) {
    return {
      decision: {
        ...decision,
        outcome: "deny",
        reasons: [costly],
        rules: [...decision.rules, "planner-cost"],
        estimatedRows: risk.estimatedRows,
        ...(cost === undefined ? {} : { estimatedCost: cost }),
        // The PHI tables it reads: a refusal by the cost is an answer about the planner's statistics, charged to
        // them (the twenty-fifth outside attack probed patients' frequencies through free cost refusals).
        ...(risk.phiTables.length === 0 ? {} : { phiTables: risk.phiTables }),
      },
      plan: undefined,
    };
  }
  const measured = {
    estimatedRows: risk.estimatedRows,
    ...(cost === undefined ? {} : { estimatedCost: cost }),
    ...(risk.windowRows === null ? {} : { windowRows: risk.windowRows }),
    ...(risk.occurrences === null ? {} : { occurrences: risk.occurrences }),
    ...(risk.phiTables.length === 0 ? {} : { phiTables: risk.phiTables }),
  };
  if (risk.outcome === "deny") {
    return {
      decision: {
        ...decision,
        outcome: "deny",
        reasons: [...risk.reasons],
        rules: [...decision.rules, ...risk.rules],
        ...measured,
      },
      plan: undefined,
    };
  }
  const approval = [...opacity.reasons, ...risk.reasons];
  if (approval.length === 0) {
    const budget = risk.budget === null ? {} : { rowBudget: risk.budget };
    return { decision: { ...decision, ...measured, ...budget }, plan: planned };
  }
  return {
    decision: {
      ...decision,
      outcome: "require_approval",
      reasons: approval,
      rules: [...decision.rules, ...opacity.rules, ...risk.rules],
      ...measured,
    },
    plan: planned,
  };
}

/** The record/dry-run form of a plan: the masked columns only. */
export function maskingSummary(
  plan: MaskingPlan | undefined,
): { column: string; position: number; rule: string; strategy: string }[] {
  return (plan?.summary ?? []).map((s) => ({
    column: s.column,
    position: s.position,
    rule: s.rule,
    strategy: s.strategy,
  }));
}
