// Lambda entry of POST /v1/evidence-bundles: records an auditor's bundle and starts its build (the evidence-build job).

import { serveRoute } from "#infra/aws/compose.ts";
import { evidenceJobsPart } from "#infra/aws/parts/evidence-jobs.ts";
import { route } from "#shared/http/handlers/post-evidence-bundle.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, { evidenceJobs: evidenceJobsPart });
