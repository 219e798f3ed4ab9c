// GET /v1/sessions/{id}/replay: the recorded exchange as JSON, or as an HTML page (Accept: text/html or ?format=html).

import * as z from "zod";
import { BadRequestError } from "#shared/errors.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { header, pathParameter, queryParameter } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import { replaySession } from "#shared/sessions/replay.ts";
import { renderReplay } from "#shared/sessions/replay-html.ts";
import { PAGE_HEADERS } from "#shared/web/page.ts";

/** The `format` query parameter. */
export const replayFormatSchema = z.enum(["json", "html"]);

/** Which rendering the caller asked for: `?format=` wins, then an Accept header preferring HTML. */
export function replayFormat(request: Request): "json" | "html" {
  const format = queryParameter(request, "format");
  if (format !== undefined) {
    const parsed = replayFormatSchema.safeParse(format);
    if (!parsed.success) throw new BadRequestError("invalid_request", "format must be json or html");
    return parsed.data;
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
  docs: {
    summary: "Replay a session's recorded exchange",
    description:
      "Request, classification, decision, approvals, execution and the masked response in order, with digests; as JSON, or as an HTML page (?format=html or an Accept header preferring text/html). The requester and auditors.",
    query: {
      format: { description: "json or html (default: by the Accept header)", schema: replayFormatSchema },
    },
    produces: ["application/json", "text/html"],
    responses: {
      200: "the replay",
      400: "invalid_request (or another snake_case code): the request is not valid",
      401: "unauthorized: no token, or a token the gateway does not trust (WWW-Authenticate: Bearer)",
      429: "rate_limited: too many requests from this caller (Retry-After)",
      503: "a store or the database is unavailable (fail closed)",
      404: "not_found: no such session, or not one the caller may replay",
    },
  },
  needsParser: false,
  capabilities: { sessions: "chain", results: "read" },
  create: createGetSessionReplayHandler,
});
