// Lambda entry of POST /approvals/{id}: the approver page's Approve / Deny form.

import { serveRoute } from "#infra/aws/compose.ts";
import { secretsPart } from "#infra/aws/parts/secrets.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
import { route } from "#shared/http/handlers/post-approval-page.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await serveRoute(route, { secrets: secretsPart, workflow: workflowPart });
