// GET /v1/evidence-bundles/{id}: the state of a requested evidence bundle (building, ready with its location, failed).

import type { EvidenceJobDeps } from "#shared/evidence/evidence-jobs.ts";
import { type EvidenceDeps, evidenceBundleStatus } from "#shared/evidence/evidence-service.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { STATUS_RETRY_AFTER_SECONDS } from "#shared/http/handlers/post-evidence-bundle.ts";
import { pathParameter } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/** The `get-evidence-bundle` route handler (a building bundle's answer says when to ask again). */
export function createGetEvidenceBundleHandler(
  deps: ApiDeps & SessionDeps & EvidenceDeps & EvidenceJobDeps,
): ApiHandler {
  return jwtHandler(deps, "get-evidence-bundle", async (_request, principal, context) => {
    const view = await evidenceBundleStatus(deps, principal, pathParameter(context, "id"));
    return jsonResponse(
      200,
      view,
      view.status === "building" ? { "retry-after": String(STATUS_RETRY_AFTER_SECONDS) } : {},
    );
  });
}

/** The `get-evidence-bundle` route. */
export const route = defineRoute({
  id: "get-evidence-bundle",
  method: "GET",
  path: "/v1/evidence-bundles/{id}",
  auth: "jwt",
  docs: {
    summary: "The state of an evidence bundle (auditors)",
    description:
      "`building` (Retry-After), `ready` (location, the signing key's fingerprint, counts) or `failed` (a reason code and a fixed sentence; nothing under the location verifies). Locally a bundle is `ready` as soon as its request answered.",
    responses: {
      200: "bundleId, status, location, statusUrl, range; when ready keyFingerprint, entries, sessions; when failed reason and message",
      401: "unauthorized: no token, or a token the gateway does not trust (WWW-Authenticate: Bearer)",
      403: "not_an_auditor",
      404: "not_found: no bundle of this id was requested here",
      429: "rate_limited: too many requests from this caller (Retry-After)",
      503: "a store is unavailable (fail closed)",
    },
  },
  needsParser: false,
  capabilities: { evidenceJobs: "read" },
  create: createGetEvidenceBundleHandler,
});
