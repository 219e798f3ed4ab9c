// Lambda entry of GET /openapi.json: serves the bundled document; no store, no database.

import { serveRoute } from "#infra/aws/compose.ts";
import { route } from "#shared/http/handlers/get-openapi.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, {});
