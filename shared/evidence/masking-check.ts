// SEAM(masking): re-derives the masking a policy requires for each output column, to compare with what was recorded.

import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";

/** The masking one output column must carry (`null`: none), or the reasons the policy refuses the statement. */
export type RequiredMasking =
  | { readonly kind: "columns"; readonly columns: readonly ({ rule: string; strategy: string } | null)[] }
  | { readonly kind: "deny"; readonly reasons: readonly string[] };

/**
 * Whether this build can re-derive masking from a policy. False until the masking module (`shared/masking/`,
 * a plan function over `classification.outputs`) is part of the build; until then evidence checks grants
 * only and says so.
 */
export const MASKING_RECHECK_AVAILABLE = false;

/** The masking the bundled policy requires for the record's outputs, or undefined when it cannot be derived. */
export function requiredMasking(
  _policy: LoadedPolicy,
  _record: Pick<SessionRecord, "classification" | "principal" | "decision">,
): RequiredMasking | undefined {
  return undefined;
}
