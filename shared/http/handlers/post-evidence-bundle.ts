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
  // The builder re-analyzes each export's SQL text for the report.
  needsParser: true,
  capabilities: { sessions: "chain", results: "read", evidence: true, policyArchive: "read" },
  create: createPostEvidenceBundleHandler,
});
