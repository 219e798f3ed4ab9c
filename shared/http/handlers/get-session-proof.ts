// GET /v1/sessions/{id}/proof[?since=SIZE]: a session's versions with their inclusion proofs against a signed checkpoint.

import * as z from "zod";
import { BadRequestError } from "#shared/errors.ts";
import type { EvidenceDeps } from "#shared/evidence/evidence-service.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { pathParameter, queryParameter } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import type { LogDeps } from "#shared/log/log-ports.ts";
import { sessionProof, sinceParameter } from "#shared/log/session-proof.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/** The `get-session-proof` route handler (auditors; 503 on a host without a transparency log). */
export function createGetSessionProofHandler(
  deps: ApiDeps & SessionDeps & EvidenceDeps & LogDeps,
): ApiHandler {
  return jwtHandler(deps, "get-session-proof", async (request, principal, context) => {
    const since = sinceParameter(queryParameter(request, "since"));
    if (since !== undefined && Number.isNaN(since)) {
      throw new BadRequestError("invalid_request", "since must be a tree size (a whole number)");
    }
    return jsonResponse(200, await sessionProof(deps, principal, pathParameter(context, "id"), since));
  });
}

/** The `get-session-proof` route (no store on AWS yet: the function answers 503 without touching one). */
export const route = defineRoute({
  id: "get-session-proof",
  method: "GET",
  path: "/v1/sessions/{id}/proof",
  auth: "jwt",
  docs: {
    summary: "A session's log entries with inclusion proofs",
    description:
      "Every version of the session as a log entry, each with its inclusion proof against a signed checkpoint (C2SP note), and with ?since=SIZE a consistency proof from that tree size. Auditors only; 503 on a host without a transparency log (AWS today).",
    query: {
      since: {
        description: "an earlier tree size to prove consistency from",
        schema: z.string().regex(/^\d+$/),
      },
    },
    responses: {
      200: "the entries, proofs and checkpoint",
      400: "invalid_request: since is not a tree size",
      401: "unauthorized: no token, or a token the gateway does not trust (WWW-Authenticate: Bearer)",
      403: "forbidden: the caller is not an auditor",
      404: "not_found: no such session",
      429: "rate_limited: too many requests from this caller (Retry-After)",
      503: "no transparency log on this host, or a store is unavailable (fail closed)",
    },
  },
  needsParser: false,
  // Auditors only: reads the chain's entries and the log's checkpoint (the signing key's public half to check it).
  capabilities: { sessions: "chain", log: "read" },
  create: createGetSessionProofHandler,
});
