// Lambda entry of POST /v1/approvals/{id}/decision: an approver's decision with a bearer token.

import { serveRoute } from "#infra/aws/compose.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
import { route } from "#shared/http/handlers/post-approval-decision.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, { workflow: workflowPart });
