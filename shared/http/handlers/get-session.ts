// GET /v1/sessions/{id}[?wait=s]: the session record as the caller may see it.

import * as z from "zod";
import { BadRequestError } from "#shared/errors.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { pathParameter, queryParameter } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import { getSession, MAX_WAIT_SECONDS } from "#shared/sessions/session-view.ts";

/** The `wait` query parameter. */
export const waitSchema = z.string().regex(/^\d{1,3}$/);

function waitSeconds(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!waitSchema.safeParse(raw).success)
    throw new BadRequestError("invalid_request", `wait must be 0-${MAX_WAIT_SECONDS} seconds`);
  return Math.min(Number(raw), MAX_WAIT_SECONDS);
}

/** The `get-session` route handler. */
export function createGetSessionHandler(deps: ApiDeps & SessionDeps): ApiHandler {
  return jwtHandler(deps, "get-session", async (request, principal, context) => {
    const view = await getSession(
      deps,
      principal,
      pathParameter(context, "id"),
      waitSeconds(queryParameter(request, "wait")),
    );
    return jsonResponse(200, view);
  });
}

/** The `get-session` route. */
export const route = defineRoute({
  id: "get-session",
  method: "GET",
  path: "/v1/sessions/{id}",
  auth: "jwt",
  docs: {
    summary: "Read a session (long-polling for a change of status)",
    description:
      "The session record as the caller may see it: the requester, its approvers and auditors; only the requester gets the result.",
    query: {
      wait: {
        description: `seconds to wait for a change of status (at most ${MAX_WAIT_SECONDS})`,
        schema: waitSchema,
      },
    },
    responses: {
      200: "the session: status, principal, sql, classification, decision, approvals, result (requester only)",
      400: "invalid_request (or another snake_case code): the request is not valid",
      401: "unauthorized: no token, or a token the gateway does not trust (WWW-Authenticate: Bearer)",
      429: "rate_limited: too many requests from this caller (Retry-After)",
      503: "a store or the database is unavailable (fail closed)",
      404: "not_found: no such session, or not one the caller may see (the two look the same)",
    },
  },
  needsParser: false,
  capabilities: { sessions: "read", results: "read" },
  create: createGetSessionHandler,
});
