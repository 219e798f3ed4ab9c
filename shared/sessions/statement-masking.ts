// Plans the masking of a statement for the principal the policy matched, and compiles the policy's detectors once.

import type { CompiledDetectors } from "#shared/masking/detectors.ts";
import { compileDetectors } from "#shared/masking/detectors.ts";
import { type MaskingDenial, type MaskingPlan, planMasking } from "#shared/masking/plan.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { maskingPolicyFor } from "#shared/policy/masking-policy.ts";
import type { Classification } from "#shared/sql/types.ts";

const detectorCache = new WeakMap<LoadedPolicy, CompiledDetectors>();

/** The masking plan of a classified statement for the policy principal entry `matchedPrincipal`. */
export function planStatementMasking(
  policy: LoadedPolicy,
  matchedPrincipal: string | null,
  classification: Pick<Classification, "outputs">,
): MaskingPlan | MaskingDenial {
  const entry = policy.document.principals.find((p) => p.id === matchedPrincipal);
  return planMasking(classification.outputs, undefined, maskingPolicyFor(policy.document, entry));
}

/**
 * The policy's compiled content detectors, compiled once per policy. They always exist (the detector section has
 * defaults): besides the policy's free-text columns they scan every unmasked text cell as a second line.
 */
export function detectorsFor(policy: LoadedPolicy): CompiledDetectors {
  let compiled = detectorCache.get(policy);
  if (compiled === undefined) {
    compiled = compileDetectors(policy.document.masking.detectors);
    detectorCache.set(policy, compiled);
  }
  return compiled;
}
