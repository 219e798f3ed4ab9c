// The Step Functions part: the approval workflow adapter.

import { SFNClient } from "@aws-sdk/client-sfn";
import type { WorkflowPart } from "#shared/adapters/aws/parts.ts";
import { SfnApprovalWorkflow } from "#shared/adapters/aws/sfn-approval-workflow.ts";

/** Starts approval executions and completes their task tokens. */
export const workflowPart: WorkflowPart = {
  client: () => new SFNClient({}),
  workflow: (client, stateMachineArn) => new SfnApprovalWorkflow({ client, stateMachineArn }),
};
