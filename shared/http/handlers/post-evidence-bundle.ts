// POST /v1/evidence-bundles: validate the range, build the signed bundle for an auditor, answer 201.

import {
  createEvidenceBundle,
  type EvidenceDeps,
  evidenceRequestSchema,
} from "#shared/evidence/evidence-service.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { jsonBody } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/** The `post-evidence-bundle` route handler. */
export function createPostEvidenceBundleHandler(deps: ApiDeps & SessionDeps & EvidenceDeps): ApiHandler {
  return jwtHandler(deps, "post-evidence-bundle", async (request, principal) => {
    const body = await jsonBody(request, evidenceRequestSchema);
    return jsonResponse(201, await createEvidenceBundle(deps, principal, body));
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
      "Every session, approval, policy and catalog snapshot of [from, to) in a signed bundle that `phigate verify-evidence` checks offline.",
    body: { schema: evidenceRequestSchema, mediaType: "application/json" },
    responses: {
      201: "bundleId, location (a path under DATA_DIR locally, an S3 URI on AWS) and the signing key's fingerprint",
      400: "invalid_request (or another snake_case code): the request is not valid",
      401: "unauthorized: no token, or a token the gateway does not trust (WWW-Authenticate: Bearer)",
      429: "rate_limited: too many requests from this caller (Retry-After)",
      503: "a store or the database is unavailable (fail closed)",
      403: "not_an_auditor",
    },
  },
  // The builder re-analyzes each export's SQL text for the report.
  needsParser: true,
  capabilities: {
    sessions: "chain",
    results: "read",
    evidence: true,
    policyArchive: "read",
    log: "read",
  },
  create: createPostEvidenceBundleHandler,
});
