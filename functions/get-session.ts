// Lambda entry of GET /v1/sessions/{id}: reads session records and stored results; no database, no parser.

import { composeHandler } from "#infra/aws/compose.ts";
import { createGetSessionHandler } from "#shared/http/handlers/get-session.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await composeHandler("get-session", createGetSessionHandler);
