// Before an approved statement runs: the recorded statement, verified parameters, the same policy, classification and masking.

import type { ApprovalState } from "#shared/approval/approval-request.ts";
import { recordBinding } from "#shared/approval/binding.ts";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import { type ConflictCode, ConflictError, PhigateError } from "#shared/errors.ts";
import { admissionKeyOf } from "#shared/policy/admission-key.ts";
import type { SqlParam } from "#shared/ports.ts";
import { decideStatement, maskingSummary } from "#shared/sessions/decide.ts";
import { parameterDigests } from "#shared/sessions/new-record.ts";
import { type SessionRecord, storedClassificationSchema } from "#shared/sessions/record.ts";
import type { ResultMasking } from "#shared/sessions/run-statement.ts";
import { detectorsFor } from "#shared/sessions/statement-masking.ts";
import { genericOf } from "#shared/sql/generic-statement.ts";
import type { AnalyzedStatement } from "#shared/sql/statement-analyzer.ts";

/** What the execution needs once everything checks out. */
export interface PreparedExecution {
  readonly analyzed: AnalyzedStatement;
  readonly params: readonly SqlParam[];
  readonly masking: ResultMasking;
}

function refuse(code: ConflictCode, message: string): ConflictError {
  return new ConflictError(code, message);
}

/**
 * Rebuilds the execution from the session record — never from anything a client sends again — and refuses
 * (a `ConflictError` with a clear code, recorded as the session's failure) when anything differs from what was
 * approved: the binding (`approval_binding_mismatch`), the raw parameters against the recorded keyed digests
 * (`approval_params_mismatch`), the policy digest (`policy_changed`), the classification (`classification_changed`),
 * the decision (`decision_changed`) or the masking plan (`masking_changed`).
 */
export async function prepareExecution(
  deps: ApprovalDeps,
  state: ApprovalState,
  record: SessionRecord,
): Promise<PreparedExecution> {
  const binding = recordBinding(record);
  if (record.approval === null || binding !== record.approval.binding || binding !== state.binding) {
    throw refuse("approval_binding_mismatch", "the recorded statement does not match what was approved");
  }
  const params = state.params;
  const recorded = record.request.params.digests ?? [];
  if (
    params === null ||
    params.length !== record.request.params.count ||
    canonicalJson(parameterDigests(await deps.keys.key("parameter-digest"), params)) !==
      canonicalJson(recorded)
  ) {
    throw refuse(
      "approval_params_mismatch",
      "the approved parameters are missing or do not match the record",
    );
  }
  const policy = deps.policy.current();
  if (policy.digest !== record.decision.policy.digest) {
    throw refuse("policy_changed", "the policy changed since this statement was approved; submit it again");
  }
  let analyzed: AnalyzedStatement;
  try {
    analyzed = await deps.analyzer.analyze(record.request.sql);
  } catch (error) {
    if (!(error instanceof PhigateError) || error.status >= 500) throw error;
    throw refuse("classification_changed", "the approved statement no longer analyzes as it did");
  }
  const classification = storedClassificationSchema.parse(analyzed.classification);
  if (canonicalJson(classification) !== canonicalJson(record.classification)) {
    throw refuse("classification_changed", "the database schema changed what the approved statement reads");
  }
  const { decision, plan } = await decideStatement({
    policy,
    context: deps.policy.context,
    principal: record.principal,
    classification: analyzed.classification,
    purpose: record.request.purpose,
    estimateRows: () => {
      const generic = genericOf(analyzed);
      return generic === undefined
        ? Promise.resolve(Number.MAX_SAFE_INTEGER)
        : deps.executor.estimateRows(
            generic,
            5_000,
            admissionKeyOf(record.decision.matchedPrincipal, record.principal.key),
          );
    },
  });
  if (decision.outcome === "deny" || plan === undefined) {
    throw refuse("decision_changed", "the policy no longer allows the approved statement");
  }
  if (canonicalJson(maskingSummary(plan)) !== canonicalJson(record.masking?.plan ?? [])) {
    throw refuse("masking_changed", "the masking the approver saw is not the masking that would apply");
  }
  return { analyzed, params, masking: { plan, detectors: detectorsFor(policy) } };
}
