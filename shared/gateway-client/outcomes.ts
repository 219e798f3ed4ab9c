// Reads the gateway's answers into outcomes a front door acts on: a result, a pending approval, a failure, waiting.

import * as z from "zod";
import type { GatewayAnswer, ResultColumn } from "#shared/gateway-client/gateway-client.ts";

const columnSchema = z.object({
  name: z.string(),
  type: z.string(),
  masking: z.object({ rule: z.string(), strategy: z.string() }).nullable(),
});

const resultFields = {
  columns: z.array(columnSchema),
  rows: z.array(z.array(z.unknown())).optional(),
  rowCount: z.number(),
  truncated: z.boolean(),
  resultUrl: z.string().optional(),
  resultSha256: z.string().optional(),
};

const resultSchema = z.looseObject(resultFields);

const completedSchema = z.looseObject({
  sessionId: z.string(),
  status: z.literal("completed"),
  ...resultFields,
});

const pendingSchema = z.looseObject({
  sessionId: z.string(),
  status: z.literal("pending_approval"),
  approval: z.object({ id: z.string(), expiresAt: z.string(), reasons: z.array(z.string()) }),
});

const errorSchema = z.looseObject({
  error: z.looseObject({ code: z.string(), message: z.string(), sessionId: z.string().optional() }),
});

const sessionSchema = z.looseObject({
  sessionId: z.string(),
  status: z.string(),
  approval: z.object({ id: z.string(), expiresAt: z.string(), quorum: z.number() }).optional(),
  approvals: z
    .array(z.object({ approver: z.string(), decision: z.string(), comment: z.string().nullable() }))
    .default([]),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  result: resultSchema.optional(),
});

/** A completed statement's result: inline rows, or a `resultUrl` to stream them from. */
export interface QueryResult {
  readonly kind: "result";
  readonly sessionId: string;
  readonly columns: readonly ResultColumn[];
  /** Inline rows; absent when the result is behind `resultUrl`. */
  readonly rows?: readonly unknown[][];
  readonly rowCount: number;
  readonly truncated: boolean;
  readonly resultUrl?: string;
  readonly resultSha256?: string;
}

/** A statement recorded `pending_approval` (a `202`). */
export interface PendingApproval {
  readonly kind: "pending";
  readonly sessionId: string;
  readonly approval: { readonly id: string; readonly expiresAt: string; readonly reasons: readonly string[] };
}

/** The gateway refused or failed the statement; `code` is the gateway's error code. */
export interface Failure {
  readonly kind: "failure";
  /** The HTTP status the failure came with (403 for a denial, also when an approver denied). */
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly sessionId?: string;
}

/** A session still on its way: waiting for approvers, or approved and running. */
export interface Waiting {
  readonly kind: "waiting";
  readonly sessionId: string;
  readonly status: string;
  readonly approvalId?: string;
  readonly approvals: number;
  readonly quorum?: number;
  readonly expiresAt?: string;
}

/** What a query request produced. */
export type QueryOutcome = QueryResult | PendingApproval | Failure;

/** What reading a session produced. */
export type SessionOutcome = QueryResult | Failure | Waiting;

function badAnswer(status: number): Failure {
  return {
    kind: "failure",
    status,
    code: "bad_response",
    message: `the gateway answered ${status} with a body this client does not understand`,
  };
}

/** The failure an error answer (`{"error": {...}}`) carries. */
export function failureOf(answer: GatewayAnswer): Failure {
  const parsed = errorSchema.safeParse(answer.body);
  if (!parsed.success) return { ...badAnswer(answer.status), code: `http_${answer.status}` };
  const { code, message, sessionId } = parsed.data.error;
  return {
    kind: "failure",
    status: answer.status,
    code,
    message,
    ...(sessionId === undefined ? {} : { sessionId }),
  };
}

function resultOf(sessionId: string, data: z.infer<typeof resultSchema>): QueryResult {
  return {
    kind: "result",
    sessionId,
    columns: data.columns,
    rowCount: data.rowCount,
    truncated: data.truncated,
    ...(data.rows === undefined ? {} : { rows: data.rows }),
    ...(data.resultUrl === undefined ? {} : { resultUrl: data.resultUrl }),
    ...(data.resultSha256 === undefined ? {} : { resultSha256: data.resultSha256 }),
  };
}

/** Reads a `POST /v1/queries` answer (not a dry run): `200` result, `202` pending, or a failure. */
export function queryOutcome(answer: GatewayAnswer): QueryOutcome {
  if (answer.status >= 400) return failureOf(answer);
  if (answer.status === 202) {
    const pending = pendingSchema.safeParse(answer.body);
    if (!pending.success) return badAnswer(answer.status);
    return { kind: "pending", sessionId: pending.data.sessionId, approval: pending.data.approval };
  }
  const completed = completedSchema.safeParse(answer.body);
  if (answer.status !== 200 || !completed.success) return badAnswer(answer.status);
  return resultOf(completed.data.sessionId, completed.data);
}

function denial(view: z.infer<typeof sessionSchema>): string {
  const deny = view.approvals.find((a) => a.decision === "deny");
  if (deny === undefined) return "an approver denied this statement";
  return `denied by ${deny.approver}${deny.comment === null ? "" : `: ${deny.comment}`}`;
}

/** Reads a `GET /v1/sessions/{id}` answer: the result, why it will not come, or that it is still on its way. */
export function sessionOutcome(answer: GatewayAnswer): SessionOutcome {
  if (answer.status >= 400) return failureOf(answer);
  const parsed = sessionSchema.safeParse(answer.body);
  if (answer.status !== 200 || !parsed.success) return badAnswer(answer.status);
  const view = parsed.data;
  const sessionId = view.sessionId;
  const failed = (status: number, code: string, message: string): Failure => ({
    kind: "failure",
    status,
    code,
    message,
    sessionId,
  });
  switch (view.status) {
    case "completed":
      if (view.result === undefined)
        return failed(502, "bad_response", "the completed session has no result");
      return resultOf(sessionId, view.result);
    case "denied":
      return failed(403, "approval_denied", denial(view));
    case "rejected":
      return failed(403, "policy_denied", view.error?.message ?? "the policy denied this statement");
    case "expired":
      return failed(410, "approval_expired", "no approver decided before the approval request expired");
    case "failed":
      return failed(422, view.error?.code ?? "failed", view.error?.message ?? "the statement failed");
    case "dry_run":
      return failed(409, "dry_run", "the session is a dry run: nothing was executed");
    default:
      return {
        kind: "waiting",
        sessionId,
        status: view.status,
        approvals: view.approvals.filter((a) => a.decision === "approve").length,
        ...(view.approval === undefined
          ? {}
          : {
              approvalId: view.approval.id,
              quorum: view.approval.quorum,
              expiresAt: view.approval.expiresAt,
            }),
      };
  }
}
