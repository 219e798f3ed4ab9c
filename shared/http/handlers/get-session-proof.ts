// GET /v1/sessions/{id}/proof[?since=SIZE]: a session's versions with their inclusion proofs against a signed checkpoint.

import { BadRequestError } from "#shared/errors.ts";
import type { EvidenceDeps } from "#shared/evidence/evidence-service.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { pathParameter } from "#shared/http/request.ts";
import type { LogDeps } from "#shared/log/log-ports.ts";
import { sessionProof, sinceParameter } from "#shared/log/session-proof.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/** The `get-session-proof` route handler (auditors; 503 on a host without a transparency log). */
export function createGetSessionProofHandler(
  deps: ApiDeps & SessionDeps & EvidenceDeps & LogDeps,
): ApiHandler {
  return jwtHandler(deps, "get-session-proof", async (event, principal) => {
    const since = sinceParameter(event.queryStringParameters?.since);
    if (since !== undefined && Number.isNaN(since)) {
      throw new BadRequestError("invalid_request", "since must be a tree size (a whole number)");
    }
    return jsonResponse(200, await sessionProof(deps, principal, pathParameter(event, "id"), since));
  });
}
