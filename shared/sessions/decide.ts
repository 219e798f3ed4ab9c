// The full decision for a statement: the policy's verdict, then the masking plan (which can still deny).

import type { Principal } from "#shared/identity/principal.ts";
import type { MaskingPlan } from "#shared/masking/plan.ts";
import { type Decision, evaluate } from "#shared/policy/evaluate.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { MatchContext } from "#shared/policy/match.ts";
import { planStatementMasking } from "#shared/sessions/statement-masking.ts";
import type { Classification } from "#shared/sql/types.ts";

/** A decision, and the masking plan when the statement may run (now or after approval). */
export interface FullDecision {
  readonly decision: Decision;
  readonly plan: MaskingPlan | undefined;
}

/** Evaluates the policy, then plans masking; a result that cannot be masked safely turns the decision into a denial. */
export function decideStatement(
  policy: LoadedPolicy,
  principal: Principal,
  classification: Classification,
  context: MatchContext,
): FullDecision {
  const decision = evaluate(policy, principal, classification, context);
  if (decision.outcome === "deny") return { decision, plan: undefined };
  const planned = planStatementMasking(policy, decision.matchedPrincipal, classification);
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
  return { decision, plan: planned };
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
