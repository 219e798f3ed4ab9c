// POST /v1/queries: validate the body, submit the query, answer 200 / 202 (pending approval) / dry-run.

import * as z from "zod";
import { BadRequestError } from "#shared/errors.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { header, jsonBody, type RouteContext, validated } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import type { SqlParam } from "#shared/ports.ts";
import type { QueryDeps } from "#shared/query/deps.ts";
import { submitQuery } from "#shared/query/submit-query.ts";
import type { QueryRequest, RequestContext } from "#shared/sessions/new-record.ts";

const MAX_SQL_CHARS = 100_000;
const MAX_PARAMS = 1_000;
const scalar = z.union([z.string().max(100_000), z.number(), z.boolean(), z.null()]);
const param = z.union([scalar, z.array(scalar).max(10_000)]);

/** The request body (contract §2); unknown fields are refused so typos fail loudly. */
export const queryBodySchema = z.strictObject({
  sql: z.string().min(1).max(MAX_SQL_CHARS),
  params: z
    .union([z.array(param).max(MAX_PARAMS), z.record(z.string().regex(/^\$?[1-9][0-9]{0,3}$/), param)])
    .optional(),
  purpose: z.string().trim().min(1).max(1_000).optional(),
  dryRun: z.boolean().optional(),
});

/** Parameters in `$n` order; an object's keys must be `1`..`n` (or `$1`..`$n`) without gaps. */
function orderedParams(params: z.infer<typeof queryBodySchema>["params"]): SqlParam[] {
  if (params === undefined) return [];
  if (Array.isArray(params)) return params;
  const entries = Object.entries(params).map(([k, v]) => [Number(k.replace("$", "")), v] as const);
  entries.sort((a, b) => a[0] - b[0]);
  entries.forEach(([n], i) => {
    if (n !== i + 1)
      throw new BadRequestError("invalid_params", "named parameters must be numbered 1..n without gaps");
  });
  if (entries.length > MAX_PARAMS)
    throw new BadRequestError("invalid_params", `at most ${MAX_PARAMS} parameters`);
  return entries.map(([, v]) => v);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkText(sql: string): void {
  if (sql.includes("\u0000"))
    throw new BadRequestError("invalid_sql", "the SQL text contains a NUL character");
  if (LONE_SURROGATE.test(sql))
    throw new BadRequestError("invalid_sql", "the SQL text is not well-formed Unicode");
}

/** A body already parsed, validated as `POST /v1/queries` validates it (the remote MCP endpoint's queries too). */
export function queryRequestOf(value: unknown): QueryRequest {
  return toQueryRequest(validated(value, queryBodySchema, "body"));
}

function toQueryRequest(body: z.infer<typeof queryBodySchema>): QueryRequest {
  checkText(body.sql);
  return {
    sql: body.sql,
    params: orderedParams(body.params),
    purpose: body.purpose ?? null,
    dryRun: body.dryRun ?? false,
  };
}

/** A request's idempotency key, validated. */
export function idempotencyKey(request: Request): string | null {
  const key = header(request, "idempotency-key");
  if (key === undefined) return null;
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(key)) {
    throw new BadRequestError(
      "invalid_idempotency_key",
      "Idempotency-Key must be 1-200 characters of [A-Za-z0-9._:-]",
    );
  }
  return key;
}

/** The caller's network identity as the host reports it. */
export function clientOf(request: Request, context: RouteContext): RequestContext["client"] {
  return {
    ip: context.sourceIp,
    userAgent: (header(request, "user-agent") ?? "").slice(0, 512) || null,
  };
}

/** The `post-query` route handler. */
export function createPostQueryHandler(deps: ApiDeps & QueryDeps): ApiHandler {
  return jwtHandler(deps, "post-query", async (request, principal, routeContext) => {
    const query = toQueryRequest(await jsonBody(request, queryBodySchema));
    const context: RequestContext = {
      principal,
      client: clientOf(request, routeContext),
      idempotencyKey: idempotencyKey(request),
    };
    const outcome = await submitQuery(deps, context, query);
    return jsonResponse(outcome.kind === "pending_approval" ? 202 : 200, outcome.body);
  });
}

/** The `post-query` route. */
export const route = defineRoute({
  id: "post-query",
  method: "POST",
  path: "/v1/queries",
  auth: "jwt",
  docs: {
    summary: "Submit one SQL statement",
    description:
      "Decides the statement by policy, runs it read-only and answers its masked result; or records it pending an approver's decision (202); or, with dryRun, only says what would happen. An Idempotency-Key header makes a retry return the same session.",
    body: { schema: queryBodySchema, mediaType: "application/json" },
    responses: {
      200: "completed: columns (each with its masking), rows or a resultUrl, rowCount, truncated; or a dry run's decision",
      202: "pending_approval: the session and its approval (id, expiry, reasons)",
      400: "invalid_request (or another snake_case code): the request is not valid",
      401: "unauthorized: no token, or a token the gateway does not trust (WWW-Authenticate: Bearer)",
      429: "rate_limited: too many requests from this caller (Retry-After)",
      503: "a store or the database is unavailable (fail closed)",
      403: "policy_denied (with the sessionId: a denial is recorded too)",
      409: "idempotency_key_reused (the key came with another body) or request_in_progress",
      413: "payload_too_large: a body over 256 KiB",
      415: "unsupported_media_type: the body is not application/json",
    },
  },
  needsParser: true,
  capabilities: {
    database: true,
    keys: true,
    sessions: "write",
    results: "write",
    approvals: "write",
    workflow: "start",
    policyArchive: "write",
  },
  create: createPostQueryHandler,
});
