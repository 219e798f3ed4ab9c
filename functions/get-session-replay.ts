// Lambda entry of GET /v1/sessions/{id}/replay: reads session records, their chain entries and stored results.

import { serveRoute } from "#infra/aws/compose.ts";
import { route } from "#shared/http/handlers/get-session-replay.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, {});
