// The Step Functions part: the approval workflow adapter.

import { SFNClient } from "@aws-sdk/client-sfn";
import { SfnApprovalWorkflow } from "#infra/aws/adapters/sfn-approval-workflow.ts";
import type { WorkflowPart } from "#infra/aws/parts.ts";

/** Starts approval executions and completes their task tokens. */
export const workflowPart: WorkflowPart = {
  client: () => new SFNClient({}),
  workflow: (client, stateMachineArn) => new SfnApprovalWorkflow({ client, stateMachineArn }),
};
