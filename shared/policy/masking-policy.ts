// The masking a policy requires of one principal: the policy's column rules merged with the principal's own (stricter wins).

import type { MaskingPlanPolicy } from "#shared/masking/plan.ts";
import { mergeRules } from "#shared/masking/strictness.ts";
import type { PolicyDocument, PrincipalEntry } from "#shared/policy/schema.ts";

/** The plan policy for a principal (entry undefined: the policy's rules alone). */
export function maskingPolicyFor(
  document: PolicyDocument,
  entry: PrincipalEntry | undefined,
): MaskingPlanPolicy {
  const masking = document.masking;
  return {
    rules: mergeRules(masking.rules, entry?.masking ?? {}),
    onTransform: masking.onTransform,
    wholeRow: masking.wholeRow,
    detectors: { columns: masking.detectors.columns, kinds: masking.detectors.kinds },
  };
}
