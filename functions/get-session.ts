// Lambda entry of GET /v1/sessions/{id}: reads session records and stored results; no database, no parser.

import { serveRoute } from "#infra/aws/compose.ts";
import { route } from "#shared/http/handlers/get-session.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, {});
