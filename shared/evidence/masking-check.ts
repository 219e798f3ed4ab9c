// Re-derives, from a bundled policy, the masking each output column of a recorded statement must carry.

import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { planStatementMasking } from "#shared/sessions/statement-masking.ts";
import type { Classification } from "#shared/sql/types.ts";

/** The masking one output column must carry (`null`: none), or the reasons the policy refuses the statement. */
export type RequiredMasking =
  | { readonly kind: "columns"; readonly columns: readonly ({ rule: string; strategy: string } | null)[] }
  | { readonly kind: "deny"; readonly reasons: readonly string[] };

/**
 * The masking `policy` requires for the record's outputs, planned exactly as the gateway plans it (lineage
 * from `classification.outputs`, the rules merged for the policy entry that matched the principal).
 */
export function requiredMasking(
  policy: LoadedPolicy,
  matchedPrincipal: string | null,
  classification: SessionRecord["classification"],
): RequiredMasking {
  const planned = planStatementMasking(policy, matchedPrincipal, classification as unknown as Classification);
  if (planned.decision === "deny") return { kind: "deny", reasons: planned.reasons };
  return {
    kind: "columns",
    columns: planned.columns.map((c) =>
      c.rule === null || c.strategy === null ? null : { rule: c.rule, strategy: c.strategy },
    ),
  };
}
