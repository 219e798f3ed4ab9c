// POST /v1/approvals/{id}/decision: an approver's decision with a bearer token (the same rules as the page).

import * as z from "zod";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { submitDecision } from "#shared/approval/submit-decision.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { jsonBody, pathParameter } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";

/** The request body (contract §2), extended with the optional binding digest the approver was shown. */
export const decisionBodySchema = z.strictObject({
  decision: z.enum(["approve", "deny"]),
  comment: z.string().trim().min(1).max(2_000).optional(),
  binding: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "binding is a SHA-256 hex digest")
    .optional(),
});

/** The `post-approval-decision` route handler. */
export function createPostApprovalDecisionHandler(deps: ApiDeps & ApprovalDeps): ApiHandler {
  return jwtHandler(deps, "post-approval-decision", async (request, principal, context) => {
    const body = await jsonBody(request, decisionBodySchema);
    const result = await submitDecision(deps, principal, pathParameter(context, "id"), {
      decision: body.decision,
      comment: body.comment ?? null,
      binding: body.binding,
      via: "api",
    });
    return jsonResponse(200, result);
  });
}

/** The `post-approval-decision` route. */
export const route = defineRoute({
  id: "post-approval-decision",
  method: "POST",
  path: "/v1/approvals/{id}/decision",
  auth: "jwt",
  docs: {
    summary: "Decide an approval with an approver's token",
    description:
      "The same decision path as the approval page. An approval is bound to the exact SQL, parameters and requester it was shown with; the requester can never approve its own request.",
    body: { schema: decisionBodySchema, mediaType: "application/json" },
    responses: {
      200: "the decision recorded, and the approval's state after it",
      400: "invalid_request (or another snake_case code): the request is not valid",
      401: "unauthorized: no token, or a token the gateway does not trust (WWW-Authenticate: Bearer)",
      429: "rate_limited: too many requests from this caller (Retry-After)",
      503: "a store or the database is unavailable (fail closed)",
      403: "not_an_approver, or self_approval",
      404: "not_found: no such approval",
      409: "already_decided",
      410: "expired",
    },
  },
  needsParser: false,
  capabilities: { sessions: "write", approvals: "write", workflow: "signal" },
  create: createPostApprovalDecisionHandler,
});
