// POST /v1/evidence-bundles: validate the range, then build the signed bundle (201, local) or start its job (202, AWS).

import type { EvidenceJobDeps } from "#shared/evidence/evidence-jobs.ts";
import {
  createEvidenceBundle,
  type EvidenceDeps,
  evidenceRequestSchema,
  requestEvidenceBundle,
} from "#shared/evidence/evidence-service.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { jsonBody } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import type { LogDeps } from "#shared/log/log-ports.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/** How long a client should wait before asking for a building bundle's status, seconds. */
export const STATUS_RETRY_AFTER_SECONDS = 5;

/**
 * The `post-evidence-bundle` route handler. A host with evidence jobs (AWS) records the request, starts the build and
 * answers `202` with the status URL; without them (the local host) the bundle is built in the request and answered
 * `201`, `ready` at once.
 */
export function createPostEvidenceBundleHandler(
  deps: ApiDeps & SessionDeps & EvidenceDeps & EvidenceJobDeps & LogDeps,
): ApiHandler {
  return jwtHandler(deps, "post-evidence-bundle", async (request, principal) => {
    const body = await jsonBody(request, evidenceRequestSchema);
    if (deps.evidenceJobs?.jobs === undefined) {
      return jsonResponse(201, await createEvidenceBundle(deps, principal, body));
    }
    const view = await requestEvidenceBundle(deps, principal, body);
    return jsonResponse(202, view, {
      location: view.statusUrl,
      "retry-after": String(STATUS_RETRY_AFTER_SECONDS),
    });
  });
}

/** The `post-evidence-bundle` route. */
export const route = defineRoute({
  id: "post-evidence-bundle",
  method: "POST",
  path: "/v1/evidence-bundles",
  auth: "jwt",
  docs: {
    summary: "Export a signed evidence bundle (auditors)",
    description:
      "Every session, approval, policy and catalog snapshot of [from, to) in a signed bundle that `phigate verify-evidence` checks offline. The local host builds it in the request (201, `ready`); on AWS the build is a job (202, `building`): poll `statusUrl` until `ready` or `failed`.",
    body: { schema: evidenceRequestSchema, mediaType: "application/json" },
    responses: {
      201: "built in the request (local host): bundleId, location (a path under DATA_DIR), status ready, statusUrl, the signing key's fingerprint",
      202: "the build started (AWS): bundleId, location (its S3 URI once ready), status building, statusUrl (also Location; Retry-After)",
      400: "invalid_request (or another snake_case code): the request is not valid",
      401: "unauthorized: no token, or a token the gateway does not trust (WWW-Authenticate: Bearer)",
      429: "rate_limited: too many requests from this caller (Retry-After)",
      503: "a store or the database is unavailable (fail closed)",
      403: "not_an_auditor",
    },
  },
  // On AWS the route only records and starts the job; the job builds (and re-analyzes each export's SQL text).
  needsParser: false,
  capabilities: { evidenceJobs: "start" },
  create: createPostEvidenceBundleHandler,
});
