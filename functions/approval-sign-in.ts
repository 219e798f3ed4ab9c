// Lambda entry of GET /approvals/oidc/callback: the end of the approver's OIDC sign-in.

import { serveRoute } from "#infra/aws/compose.ts";
import { secretsPart } from "#infra/aws/parts/secrets.ts";
import { route } from "#shared/http/handlers/approval-sign-in.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, { secrets: secretsPart });
