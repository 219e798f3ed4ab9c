// The query use case: analyze → decide → record → run now (execute-session) | request an approval | refuse.

import {
  approvalBlock,
  approverQuorum,
  openApproval,
  type PendingApprovalBody,
  pendingBody,
} from "#shared/approval/request-approval.ts";
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  inSession,
  MaskingFailedError,
  PhigateError,
  UnavailableError,
} from "#shared/errors.ts";
import { newSessionId } from "#shared/ids.ts";
import { errorFields } from "#shared/log.ts";
import { admissionKeyOf } from "#shared/policy/admission-key.ts";
import type { SqlParam } from "#shared/ports.ts";
import { type DecidedRequest, decideRequest } from "#shared/query/decide-request.ts";
import type { QueryDeps } from "#shared/query/deps.ts";
import { type CompletedBody, executeSession } from "#shared/query/execute-session.ts";
import { maskingSummary } from "#shared/sessions/decide.ts";
import { failSession } from "#shared/sessions/fail-session.ts";
import {
  newSessionRecord,
  type QueryRequest,
  type RequestContext,
  requestDigest,
} from "#shared/sessions/new-record.ts";
import { ledgerReadsOf, unrunReadsOf } from "#shared/sessions/read-ledger.ts";
import { type SessionRecord, type SessionStatus, transition } from "#shared/sessions/record.ts";
import { budgetReason, type RowBudget, RowBudgetExceeded } from "#shared/sessions/row-budget.ts";
import { loadStoredResult } from "#shared/sessions/run-statement.ts";
import { detectorsFor } from "#shared/sessions/statement-masking.ts";
import { isKnownCaller, refuseUnknownCaller } from "#shared/sessions/unknown-callers.ts";
import type { Classification } from "#shared/sql/types.ts";

/** The body of a `dryRun` answer (contract §2), with the session that records it. */
export interface DryRunBody {
  readonly sessionId: string;
  readonly decision: "allow" | "deny" | "require_approval";
  readonly classification: {
    readonly kind: string;
    readonly tables: string[];
    readonly columns: string[];
    readonly functions: string[];
  };
  readonly reasons: readonly string[];
  readonly masking: readonly { column: string; position: number; rule: string; strategy: string }[];
}

/** What a query request produced. */
export type QueryOutcome =
  | { readonly kind: "completed"; readonly body: CompletedBody }
  | { readonly kind: "pending_approval"; readonly body: PendingApprovalBody }
  | { readonly kind: "dry_run"; readonly body: DryRunBody };

function classificationSummary(c: Classification): DryRunBody["classification"] {
  return {
    kind: c.kind,
    tables: c.relations.map((r) => `${r.schema}.${r.table}`),
    columns: c.columns.map((col) => `${col.schema}.${col.table}.${col.column}`),
    functions: c.functions.map((f) => (f.schema === undefined ? f.name : `${f.schema}.${f.name}`)),
  };
}

function initialStatus(outcome: "allow" | "deny" | "require_approval"): SessionStatus {
  if (outcome === "deny") return "rejected";
  if (outcome === "require_approval") return "pending_approval";
  return "running";
}

/** Whether a decision counted the caller's window to let a statement through (its budget depends on it). */
function windowed(decided: DecidedRequest): boolean {
  const { decision } = decided;
  return (
    decision.rowBudget !== undefined && decision.windowRows !== undefined && decision.windowRows !== null
  );
}

/**
 * Handles `POST /v1/queries`. Nothing runs unless the policy allows it; the record exists (`running`) before
 * the statement runs; the masked result and the final record are stored before the answer is returned. A
 * statement that needs approval is recorded `pending_approval` with its approval block, the approval request is
 * stored and its workflow started (any failure fails the session closed), and the answer is `202`. A statement
 * let through on the caller's window is decided again, run and recorded in the caller's turn (one at a time per
 * admission key, `deps.turns`), so concurrent slices see each other's rows.
 */
export async function submitQuery(
  deps: QueryDeps,
  context: RequestContext,
  request: QueryRequest,
): Promise<QueryOutcome> {
  // Before parsing or the catalog: a caller no principal matches costs no analysis and wakes no database.
  if (!isKnownCaller(deps, context.principal)) return refuseUnknownCaller(deps, context, request);
  const decided = await decideRequest(deps, context.principal, request);
  if (request.dryRun) return dryRun(deps, context, request, decided, deps.clock.now());
  if (!windowed(decided)) return admit(deps, context, request, decided);
  const key = admissionKeyOf(decided.decision.matchedPrincipal, context.principal.key);
  return deps.turns.run(key, decided.decision.limits.timeoutMs, async () =>
    admit(deps, context, request, await decideRequest(deps, context.principal, request)),
  );
}

/** Records a decided request and runs it, asks for its approval or refuses it. */
async function admit(
  deps: QueryDeps,
  context: RequestContext,
  request: QueryRequest,
  { analyzed, decision, plan }: DecidedRequest,
): Promise<QueryOutcome> {
  const { classification } = analyzed;
  const policy = deps.policy.current();
  const now = deps.clock.now();
  const status = initialStatus(decision.outcome);
  const quorum = approverQuorum(policy);
  let record = newSessionRecord({
    sessionId: newSessionId(now),
    status,
    at: now,
    context,
    request,
    parameterKey: await deps.keys.key("parameter-digest"),
    classification,
    catalog: analyzed.catalog ?? null,
    decision,
    masking: plan === undefined ? null : { plan: maskingSummary(plan) },
    matchContext: deps.policy.context,
  });
  if (status === "pending_approval" && quorum !== undefined) {
    record = {
      ...record,
      approval: await approvalBlock(deps, record, quorum, request.params, analyzed.statement),
    };
  }
  const idempotency =
    context.idempotencyKey === null
      ? undefined
      : { scope: context.principal.key, key: context.idempotencyKey };
  const { created, record: stored } = await deps.sessions.create(record, idempotency);
  if (!created) return replay(deps, stored, requestDigest(request), request.params);
  deps.logger.info("session recorded", {
    sessionId: stored.sessionId,
    status,
    sqlDigest: stored.request.sqlDigest,
    principal: context.principal.key,
  });
  // Counted before the answer, as a dry run's: the reasons a 403 or a 202 shows are about the estimate too.
  const unrun = unrunReadsOf(stored);
  if (unrun !== undefined) await deps.reads.add(unrun);
  if (status === "rejected") {
    throw new ForbiddenError("policy_denied", decision.reasons.join("; "), { sessionId: stored.sessionId });
  }
  if (status === "pending_approval") return awaitApproval(deps, stored, request.params);
  if (plan === undefined) {
    const error = new MaskingFailedError("the statement has no masking plan; nothing was run");
    await failSession(deps, stored, error);
    throw inSession(error, stored.sessionId);
  }
  const masking = { plan, detectors: detectorsFor(policy) };
  try {
    return { kind: "completed", body: await executeSession(deps, stored, analyzed, request, masking) };
  } catch (error) {
    if (!(error instanceof RowBudgetExceeded)) throw error;
    return overBudget(deps, stored, request.params, analyzed.statement, error.budget);
  }
}

/** Opens the approval of a session recorded `pending_approval` (failing it closed when that cannot be done). */
async function awaitApproval(
  deps: QueryDeps,
  stored: SessionRecord,
  params: readonly SqlParam[],
): Promise<QueryOutcome> {
  if (stored.approval === null) {
    const error = new ForbiddenError(
      "approval_unavailable",
      "this statement needs an approval but the policy names no approvers",
    );
    await failSession(deps, stored, error);
    throw inSession(error, stored.sessionId);
  }
  try {
    return { kind: "pending_approval", body: await openApproval(deps, stored, params) };
  } catch (error) {
    deps.logger.error("could not open an approval; failing the session closed", {
      sessionId: stored.sessionId,
      ...errorFields(error),
    });
    const known =
      error instanceof PhigateError
        ? error
        : new UnavailableError("workflow_unavailable", "the approval workflow is unavailable", {
            cause: error,
          });
    await failSession(deps, stored, known);
    throw inSession(known, stored.sessionId);
  }
}

/**
 * A statement that returned more PHI rows than its budget (nothing of its result was kept): its decision becomes
 * the one its rule would have made — `running → pending_approval` with an approval block (answered `202`), or
 * `running → rejected` for a denying rule — with the reason recorded on the decision and the transition.
 */
async function overBudget(
  deps: QueryDeps,
  running: SessionRecord,
  params: readonly SqlParam[],
  statement: string,
  budget: RowBudget,
): Promise<QueryOutcome> {
  const reason = budgetReason(budget);
  deps.logger.warn("a statement returned more PHI rows than its budget; nothing was returned", {
    sessionId: running.sessionId,
    rule: budget.rule,
    budget: budget.rows,
  });
  const decision = {
    ...running.decision,
    outcome: budget.action,
    reasons: [reason],
    rules: [...running.decision.rules, budget.rule],
  };
  const status = budget.action === "deny" ? "rejected" : "pending_approval";
  let next = transition(running, status, deps.clock.now(), { decision }, reason);
  const quorum = approverQuorum(deps.policy.current());
  if (status === "pending_approval" && quorum !== undefined)
    next = { ...next, approval: await approvalBlock(deps, next, quorum, params, statement) };
  const stored = await deps.sessions.update(next);
  if (status === "rejected")
    throw new ForbiddenError("policy_denied", reason, { sessionId: stored.sessionId });
  return awaitApproval(deps, stored, params);
}

/** Answers an idempotent retry from what was recorded, never by running the statement again. */
async function replay(
  deps: QueryDeps,
  stored: SessionRecord,
  digest: string,
  params: readonly SqlParam[],
): Promise<QueryOutcome> {
  const sessionId = stored.sessionId;
  if (stored.request.requestDigest !== digest) {
    throw new ConflictError(
      "idempotency_key_reused",
      "this Idempotency-Key was already used for a different request",
      {
        sessionId,
      },
    );
  }
  switch (stored.status) {
    case "completed": {
      const result = await loadStoredResult(deps, stored);
      return { kind: "completed", body: { sessionId, status: "completed", ...result } };
    }
    case "rejected":
      throw new ForbiddenError("policy_denied", stored.decision.reasons.join("; "), { sessionId });
    case "failed": {
      const error = stored.error ?? { code: "internal_error", message: "the request failed", status: 500 };
      throw new RecordedError(error.code, error.message, error.status, sessionId);
    }
    case "pending_approval":
      if (stored.approval === null)
        throw new ConflictError("request_in_progress", "this request is still in progress", { sessionId });
      // The first attempt recorded the session but died before opening its approval: open it now (the digest
      // matched, so these are the same parameters), or nothing would ever decide or expire it.
      if ((await deps.approvals.get(stored.approval.id)) === undefined) {
        try {
          return { kind: "pending_approval", body: await openApproval(deps, stored, params) };
        } catch (error) {
          if (!(error instanceof ConflictError && error.code === "approval_exists"))
            throw inSession(error, sessionId);
        }
      }
      return { kind: "pending_approval", body: pendingBody(stored) };
    case "denied":
      throw new ForbiddenError("approval_denied", "an approver denied this statement", { sessionId });
    case "expired":
      throw new GoneError("approval_expired", "the approval request expired", { sessionId });
    default:
      throw new ConflictError("request_in_progress", "this request is still in progress", { sessionId });
  }
}

/** A failure replayed from a session record, with its recorded code and status. */
export class RecordedError extends PhigateError {
  override readonly name = "RecordedError";
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    sessionId: string,
  ) {
    super(message, { sessionId });
  }
}

/**
 * A dry run is a session like any request (status `dry_run`, terminal): recorded with the decision and the
 * reasons the caller sees, so probing the policy leaves the same trail as asking it to run. Nothing executes;
 * an Idempotency-Key does not apply (a dry run is answered afresh each time).
 */
async function dryRun(
  deps: QueryDeps,
  context: RequestContext,
  request: QueryRequest,
  decided: DecidedRequest,
  now: Date,
): Promise<QueryOutcome> {
  const { analyzed, decision, plan } = decided;
  const record = newSessionRecord({
    sessionId: newSessionId(now),
    status: "dry_run",
    at: now,
    context: { ...context, idempotencyKey: null },
    request,
    parameterKey: await deps.keys.key("parameter-digest"),
    classification: analyzed.classification,
    catalog: analyzed.catalog ?? null,
    decision,
    masking: plan === undefined ? null : { plan: maskingSummary(plan) },
    matchContext: deps.policy.context,
  });
  await deps.sessions.create(record);
  // Counted before the answer, as a completed session's rows are (a failure withholds it).
  const reads = ledgerReadsOf(record);
  if (reads !== undefined) await deps.reads.add(reads);
  deps.logger.info("session recorded", {
    sessionId: record.sessionId,
    status: "dry_run",
    sqlDigest: record.request.sqlDigest,
    principal: context.principal.key,
  });
  return {
    kind: "dry_run",
    body: {
      sessionId: record.sessionId,
      decision: decision.outcome,
      classification: classificationSummary(analyzed.classification),
      reasons: decision.reasons,
      masking: maskingSummary(plan),
    },
  };
}
