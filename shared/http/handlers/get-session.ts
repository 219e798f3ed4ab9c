// GET /v1/sessions/{id}[?wait=s]: the session record as the caller may see it.

import { BadRequestError } from "#shared/errors.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { pathParameter, queryParameter } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import { getSession, MAX_WAIT_SECONDS } from "#shared/sessions/session-view.ts";

function waitSeconds(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d{1,3}$/.test(raw))
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
  needsParser: false,
  capabilities: { sessions: "read", results: "read" },
  create: createGetSessionHandler,
});
