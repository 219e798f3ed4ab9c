// GET /v1/sessions/{id}/replay: the recorded exchange as JSON, or as an HTML page (Accept: text/html or ?format=html).

import { BadRequestError } from "#shared/errors.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { header, pathParameter, queryParameter } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import { replaySession } from "#shared/sessions/replay.ts";
import { renderReplay } from "#shared/sessions/replay-html.ts";
import { PAGE_HEADERS } from "#shared/web/page.ts";

/** Which rendering the caller asked for: `?format=` wins, then an Accept header preferring HTML. */
export function replayFormat(request: Request): "json" | "html" {
  const format = queryParameter(request, "format");
  if (format !== undefined) {
    if (format !== "json" && format !== "html")
      throw new BadRequestError("invalid_request", "format must be json or html");
    return format;
  }
  const accept = (header(request, "accept") ?? "").toLowerCase();
  return accept.includes("text/html") && !accept.startsWith("application/json") ? "html" : "json";
}

/** The `get-session-replay` route handler. */
export function createGetSessionReplayHandler(deps: ApiDeps & SessionDeps): ApiHandler {
  return jwtHandler(deps, "get-session-replay", async (request, principal, context) => {
    const format = replayFormat(request);
    const replay = await replaySession(deps, principal, pathParameter(context, "id"));
    if (format === "json") return jsonResponse(200, replay);
    return new Response(renderReplay(replay), { status: 200, headers: PAGE_HEADERS });
  });
}

/** The `get-session-replay` route. */
export const route = defineRoute({
  id: "get-session-replay",
  method: "GET",
  path: "/v1/sessions/{id}/replay",
  auth: "jwt",
  needsParser: false,
  capabilities: { sessions: "chain", results: "read" },
  create: createGetSessionReplayHandler,
});
