// Plans the masking of a statement for the principal the policy matched, and compiles the policy's detectors once.

import type { CompiledDetectors } from "#shared/masking/detectors.ts";
import { compileDetectors } from "#shared/masking/detectors.ts";
import { type MaskingDenial, type MaskingPlan, planMasking } from "#shared/masking/plan.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { maskingPolicyFor } from "#shared/policy/masking-policy.ts";
import type { Classification } from "#shared/sql/types.ts";

const detectorCache = new WeakMap<LoadedPolicy, CompiledDetectors | undefined>();

/** The masking plan of a classified statement for the policy principal entry `matchedPrincipal`. */
export function planStatementMasking(
  policy: LoadedPolicy,
  matchedPrincipal: string | null,
  classification: Pick<Classification, "outputs">,
): MaskingPlan | MaskingDenial {
  const entry = policy.document.principals.find((p) => p.id === matchedPrincipal);
  return planMasking(classification.outputs, undefined, maskingPolicyFor(policy.document, entry));
}

/** The policy's compiled content detectors (undefined when it configures none), compiled once per policy. */
export function detectorsFor(policy: LoadedPolicy): CompiledDetectors | undefined {
  if (!detectorCache.has(policy)) {
    const config = policy.document.masking.detectors;
    detectorCache.set(policy, config.columns.length === 0 ? undefined : compileDetectors(config));
  }
  return detectorCache.get(policy);
}
