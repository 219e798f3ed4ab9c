// Lambda entry of POST /v1/approvals/{id}/decision: an approver's decision with a bearer token.

import { composeHandler } from "#infra/aws/compose.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
import { createPostApprovalDecisionHandler } from "#shared/http/handlers/post-approval-decision.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await composeHandler("post-approval-decision", createPostApprovalDecisionHandler, {
  workflow: workflowPart,
});
