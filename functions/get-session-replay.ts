// Lambda entry of GET /v1/sessions/{id}/replay: reads session records, their chain entries and stored results.

import { composeHandler } from "#infra/aws/compose.ts";
import { createGetSessionReplayHandler } from "#shared/http/handlers/get-session-replay.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await composeHandler("get-session-replay", createGetSessionReplayHandler);
