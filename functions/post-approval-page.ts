// Lambda entry of POST /approvals/{id}: the approver page's Approve / Deny form.

import { composeHandler } from "#infra/aws/compose.ts";
import { secretsPart } from "#infra/aws/parts/secrets.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
import { createPostApprovalPageHandler } from "#shared/http/handlers/post-approval-page.ts";

/** The API Gateway (payload v2) handler, composed once per container during the init phase. */
export const handler = await composeHandler("post-approval-page", createPostApprovalPageHandler, {
  secrets: secretsPart,
  workflow: workflowPart,
});
