// Re-checks a recorded export against the policy it cites: grants, masking, and the human review it needed.

import { recordBinding } from "#shared/approval/binding.ts";
import { requiredMasking } from "#shared/evidence/masking-check.ts";
import type { Problem } from "#shared/evidence/problems.ts";
import { type DerivedVerdict, reanalyzeExport } from "#shared/evidence/reanalyze.ts";
import { principalOfKey, samePerson } from "#shared/identity/principal.ts";
import { isSecondLine } from "#shared/masking/masker.ts";
import type { Decision } from "#shared/policy/evaluate.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { decideStatement } from "#shared/sessions/decide.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import type { Catalog, Classification } from "#shared/sql/types.ts";

/** The outcome of re-checking one session. */
export interface SessionAssessment {
  /** Whether the policy grants everything the session returned. */
  readonly authorization: "ok" | "violation" | "not_applicable";
  /** Whether every returned column carries the masking the policy requires. */
  readonly masking: "ok" | "violation" | "not_applicable";
  /** How the export was authorized: by a policy rule, by approvers, or without a review it needed. */
  readonly review: "policy" | "approved" | "violation" | "not_applicable";
  /**
   * Whether re-analyzing the statement from its SQL text (this build's analyzer and rules, the recorded catalog)
   * agrees with what was recorded; `unavailable` when the catalog it was analyzed against is not at hand.
   */
  readonly reanalysis: "ok" | "violation" | "unavailable" | "not_applicable";
  readonly findings: readonly Problem[];
}

const columnKey = (c: { schema: string; table: string; column: string }): string =>
  `${c.schema}.${c.table}.${c.column}`;
const tableKey = (t: { schema: string; table: string }): string => `${t.schema}.${t.table}`;

/** The stored classification in the analyzer's shape (the stored form keeps every field evaluation reads). */
function asClassification(stored: SessionRecord["classification"]): Classification {
  return stored as unknown as Classification;
}

function checkLineage(record: SessionRecord, findings: Problem[]): void {
  const id = record.sessionId;
  const result = record.result;
  if (result === null) return;
  const outputs = record.classification.outputs;
  if (result.columns.length !== outputs.length) {
    findings.push({
      class: "unauthorized_column",
      message: `session ${id} returned ${result.columns.length} column(s) but its analysis accounted for ${outputs.length}`,
    });
    return;
  }
  const read = new Set(record.classification.columns.map(columnKey));
  const wholeRows = new Set(record.classification.wholeRows.map(tableKey));
  for (const output of outputs) {
    const unseen = [
      ...output.sources.map(columnKey).filter((k) => !read.has(k)),
      ...output.wholeRows.map(tableKey).filter((k) => !wholeRows.has(k)),
    ];
    if (unseen.length > 0) {
      findings.push({
        class: "unauthorized_column",
        message: `session ${id} column "${output.name}" derives from ${unseen.join(", ")}, which the decision did not consider`,
      });
    }
  }
}

/** The check's verdict, and the masking derived per output column (undefined when it could not be). */
interface MaskingCheck {
  readonly verdict: SessionAssessment["masking"];
  readonly required: DerivedVerdict["masking"];
}

function checkMasking(
  record: SessionRecord,
  policy: LoadedPolicy,
  matchedPrincipal: string | null,
  findings: Problem[],
): MaskingCheck {
  let required: ReturnType<typeof requiredMasking>;
  try {
    required = requiredMasking(policy, matchedPrincipal, record.classification);
  } catch (error) {
    findings.push({
      class: "masking_mismatch",
      message: `session ${record.sessionId}: the masking its policy requires cannot be derived from the recorded analysis (${error instanceof Error ? error.message : "invalid lineage"})`,
    });
    return { verdict: "violation", required: undefined };
  }
  const id = record.sessionId;
  if (required.kind === "deny") {
    findings.push({
      class: "masking_mismatch",
      message: `session ${id} returned data its policy refuses to mask: ${required.reasons.join("; ")}`,
    });
    return { verdict: "violation", required: undefined };
  }
  const before = findings.length;
  (record.result?.columns ?? []).forEach((column, i) => {
    const want = required.columns[i] ?? null;
    const got = column.masking;
    if (want === null && (got === null || isSecondLine(got))) return;
    if (want !== null && got === null) {
      findings.push({
        class: "masking_mismatch",
        message: `session ${id} returned column "${column.name}" unmasked; policy ${policy.digest.slice(0, 12)} requires ${want.strategy} (${want.rule})`,
      });
    } else if (want === null || got === null || want.rule !== got.rule || want.strategy !== got.strategy) {
      findings.push({
        class: "masking_mismatch",
        message: `session ${id} column "${column.name}" was masked as ${got === null ? "nothing" : `${got.strategy} (${got.rule})`}; the policy requires ${want === null ? "nothing" : `${want.strategy} (${want.rule})`}`,
      });
    }
  });
  return { verdict: findings.length > before ? "violation" : "ok", required: required.columns };
}

function checkReview(
  record: SessionRecord,
  policy: LoadedPolicy,
  reevaluated: "allow" | "deny" | "require_approval",
  findings: Problem[],
): SessionAssessment["review"] {
  const id = record.sessionId;
  // The gateway's rule (decision-rules.ts): the requester is the same key or the same subject under another issuer.
  const byRequester = (a: { approverKey: string }): boolean =>
    samePerson(principalOfKey(a.approverKey), record.principal);
  const selfApproved = record.approvals.filter(byRequester);
  for (const a of selfApproved) {
    findings.push({
      class: "review_missing",
      message: `session ${id} was approved by its own requester (${a.approver})`,
    });
  }
  // What the approvers must have been shown, recomputed from the record itself (the SQL, the parameters' keyed
  // digests and the requester): a record changed after its approval no longer matches it.
  const bound = recordBinding(record);
  const before = findings.length;
  if (record.approval !== null && record.approval.binding !== bound) {
    findings.push({
      class: "approval_binding_mismatch",
      message: `session ${id}: its approval request is bound to ${record.approval.binding.slice(0, 12)}, but the recorded statement, parameters and requester bind to ${bound.slice(0, 12)}`,
    });
  }
  const misbound = record.approvals.filter((a) => a.binding !== bound);
  if (misbound.length > 0) {
    findings.push({
      class: "approval_binding_mismatch",
      message: `session ${id}: ${misbound.length} decision(s) (${misbound.map((a) => a.approver).join(", ")}) are bound to another statement, parameters or requester than the recorded ${bound.slice(0, 12)}`,
    });
  }
  const misboundFound = findings.length > before;
  const needed = record.decision.outcome === "require_approval" || reevaluated === "require_approval";
  if (!needed) return selfApproved.length > 0 || misboundFound ? "violation" : "policy";
  const request = record.approval;
  if (request === null) {
    findings.push({
      class: "review_missing",
      message: `session ${id} needed approval but has no approval request`,
    });
    return "violation";
  }
  // Instants, not strings (ISO texts of one instant may differ in precision). The gateway takes a decision only
  // strictly before the expiry (decision-rules.ts, the approval stores), so one made at the expiry does not count.
  const expiresAt = Date.parse(request.expiresAt);
  const startedAt = record.execution === null ? undefined : Date.parse(record.execution.startedAt);
  const valid = record.approvals.filter((a) => {
    const at = Date.parse(a.at);
    return (
      a.decision === "approve" &&
      !byRequester(a) &&
      a.binding === bound &&
      request.binding === bound &&
      at < expiresAt &&
      (startedAt === undefined || at <= startedAt)
    );
  });
  // Distinct as the gateway counts them: a second decision by the same key or subject is never accepted.
  const counted: ReturnType<typeof principalOfKey>[] = [];
  for (const a of valid) {
    const who = principalOfKey(a.approverKey);
    if (!counted.some((c) => samePerson(c, who))) counted.push(who);
  }
  const approvers = counted.length;
  const quorum = Math.max(request.quorum, policy.document.roles.approvers?.quorum ?? 1);
  const denials = record.approvals.filter((a) => a.decision === "deny").length;
  if (approvers < quorum || denials > 0) {
    findings.push({
      class: "review_missing",
      message: `session ${id} returned data with ${approvers} valid approval(s) of the ${quorum} required${denials > 0 ? ` and ${denials} denial(s)` : ""} (an approval counts when it is not the requester's, is bound to the recorded statement, parameters and requester and precedes both expiry and execution)`,
    });
    return "violation";
  }
  return selfApproved.length > 0 || misboundFound ? "violation" : "approved";
}

async function reanalysisOf(
  record: SessionRecord,
  policy: LoadedPolicy,
  catalog: Catalog | undefined,
  derived: DerivedVerdict | undefined,
  findings: Problem[],
): Promise<SessionAssessment["reanalysis"]> {
  if (catalog === undefined) return "unavailable";
  const found = await reanalyzeExport({ record, policy, catalog, derived });
  findings.push(...found.findings);
  return found.differs ? "violation" : "ok";
}

/**
 * Re-checks a session against `policy` (the one its decision cites): its recorded analysis is decided again exactly
 * as the gateway does (grants, masking plan, risk rules with the recorded row estimate and purpose), and — with the
 * `catalog` it was analyzed against — its SQL text is analyzed again from scratch by this build (`reanalyzeExport`),
 * so a session an older or faulty analyzer let through is found. Only sessions that returned data (`completed`
 * with a stored result) are exports; others are `not_applicable`.
 */
export async function assessSession(
  record: SessionRecord,
  policy: LoadedPolicy,
  catalog: Catalog | undefined,
): Promise<SessionAssessment> {
  if (record.status !== "completed" || record.result === null) {
    return {
      authorization: "not_applicable",
      masking: "not_applicable",
      review: "not_applicable",
      reanalysis: "not_applicable",
      findings: [],
    };
  }
  const findings: Problem[] = [];
  const recordedEstimate = record.decision.estimatedRows;
  let decision: Decision;
  try {
    ({ decision } = await decideStatement({
      policy,
      context: { devIssuer: record.decision.matchContext?.devIssuer ?? undefined },
      principal: record.principal,
      classification: asClassification(record.classification),
      purpose: record.request.purpose,
      estimateRows: async () => {
        if (typeof recordedEstimate === "number") return recordedEstimate;
        throw new Error("the decision needs a row estimate the record does not carry");
      },
    }));
  } catch (error) {
    findings.push({
      class: "unauthorized_column",
      message: `session ${record.sessionId} cannot be re-decided from policy ${policy.digest.slice(0, 12)}: ${error instanceof Error ? error.message : "invalid record"}`,
    });
    const reanalysis = await reanalysisOf(record, policy, catalog, undefined, findings);
    return { authorization: "violation", masking: "violation", review: "violation", reanalysis, findings };
  }
  if (decision.outcome === "deny") {
    findings.push({
      class: "unauthorized_column",
      message: `session ${record.sessionId} returned data that policy ${policy.digest.slice(0, 12)} does not grant: ${decision.reasons.join("; ")}`,
    });
  }
  checkLineage(record, findings);
  const authorization = findings.length > 0 ? "violation" : "ok";
  const masking = checkMasking(record, policy, decision.matchedPrincipal, findings);
  const review = checkReview(record, policy, decision.outcome, findings);
  const derived = { outcome: decision.outcome, masking: masking.required };
  const reanalysis = await reanalysisOf(record, policy, catalog, derived, findings);
  return { authorization, masking: masking.verdict, review, reanalysis, findings };
}
