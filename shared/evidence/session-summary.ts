// The compact view of a session that the bundle report shows: who, what was read and returned, how it was authorized.

import { recordBinding } from "#shared/approval/binding.ts";
import type { SessionAssessment } from "#shared/evidence/assess-session.ts";
import { claimedIdentity, principalName } from "#shared/identity/principal.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";

/** One session as the report lists it (its last version in the range). */
export interface SessionSummary {
  readonly sessionId: string;
  readonly seq: number;
  readonly version: number;
  readonly status: SessionRecord["status"];
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly principal: {
    readonly key: string;
    /** The principal's name: subject @ issuer (never a claimed email). */
    readonly label: string;
    /** What its token claims to be (email, username), marked as a claim. */
    readonly claimed: string | undefined;
    readonly issuer: string;
    readonly subject: string;
    readonly repository: string | undefined;
    readonly ref: string | undefined;
    readonly run: string | undefined;
  };
  readonly client: SessionRecord["client"];
  readonly purpose: string | null;
  readonly sqlDigest: string;
  readonly tables: readonly string[];
  readonly columnsRead: readonly string[];
  readonly decision: {
    readonly outcome: SessionRecord["decision"]["outcome"];
    readonly rules: readonly string[];
    readonly reasons: readonly string[];
    readonly matchedPrincipal: string | null;
    readonly policyName: string;
    readonly policyDigest: string;
  };
  readonly outputs: readonly {
    readonly name: string;
    readonly masking: { readonly rule: string; readonly strategy: string } | null;
    readonly sources: readonly string[];
  }[];
  readonly rowCount: number | null;
  readonly truncated: boolean | null;
  readonly resultSha256: string | null;
  readonly approvalQuorum: number | null;
  readonly approvals: readonly { approver: string; decision: string; at: string; bindingMatches: boolean }[];
  readonly error: string | null;
  readonly assessment: SessionAssessment | undefined;
}

/** Summarizes a record version (with its re-check, when the policy it cites was available). */
export function summarize(
  seq: number,
  record: SessionRecord,
  assessment: SessionAssessment | undefined,
): SessionSummary {
  const c = record.principal.claims;
  const run = c.run_id === undefined ? undefined : `${c.run_id}${c.run_attempt ? `/${c.run_attempt}` : ""}`;
  const outputs = record.classification.outputs;
  const binding = recordBinding(record);
  return {
    sessionId: record.sessionId,
    seq,
    version: record.version,
    status: record.status,
    createdAt: record.createdAt,
    completedAt: record.completedAt,
    principal: {
      key: record.principal.key,
      label: principalName(record.principal),
      claimed: claimedIdentity(record.principal),
      issuer: record.principal.issuer,
      subject: record.principal.subject,
      repository: c.repository,
      ref: c.ref,
      run,
    },
    client: record.client,
    purpose: record.request.purpose,
    sqlDigest: record.request.sqlDigest,
    tables: [...new Set(record.classification.relations.map((r) => `${r.schema}.${r.table}`))],
    columnsRead: [
      ...new Set(record.classification.columns.map((col) => `${col.schema}.${col.table}.${col.column}`)),
    ],
    decision: {
      outcome: record.decision.outcome,
      rules: record.decision.rules,
      reasons: record.decision.reasons,
      matchedPrincipal: record.decision.matchedPrincipal,
      policyName: record.decision.policy.name,
      policyDigest: record.decision.policy.digest,
    },
    outputs: (record.result?.columns ?? []).map((column, i) => ({
      name: column.name,
      masking: column.masking,
      sources: [
        ...(outputs[i]?.sources ?? []).map((s) => `${s.schema}.${s.table}.${s.column}`),
        ...(outputs[i]?.wholeRows ?? []).map((t) => `${t.schema}.${t.table}.*`),
      ],
    })),
    rowCount: record.result?.rowCount ?? record.execution?.rowCount ?? null,
    truncated: record.result?.truncated ?? null,
    resultSha256: record.result?.object.sha256 ?? null,
    approvalQuorum: record.approval?.quorum ?? null,
    approvals: record.approvals.map((a) => ({
      approver: a.approver,
      decision: a.decision,
      at: a.at,
      // Recomputed from the recorded statement, parameter digests and requester, not just copied from the request.
      bindingMatches:
        record.approval !== null && a.binding === record.approval.binding && a.binding === binding,
    })),
    error: record.error?.code ?? null,
    assessment,
  };
}
