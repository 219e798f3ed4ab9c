// Lambda entry of GET /v1/evidence-bundles/{id}: the state of a requested evidence bundle.

import { serveRoute } from "#infra/aws/compose.ts";
import { route } from "#shared/http/handlers/get-evidence-bundle.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, {});
