// Lambda entry of GET /v1/sessions/{id}/proof: answers 503 until the AWS host has its transparency log (docs/evidence.md).

import { serveRoute } from "#infra/aws/compose.ts";
import { route } from "#shared/http/handlers/get-session-proof.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, {});
