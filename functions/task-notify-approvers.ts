// Lambda entry of the approval task `notify-approvers`: keeps the task token with the approval, notifies approvers once (SNS).

import { composeTask } from "#shared/adapters/aws/compose-jobs.ts";
import { tracedTelemetry } from "#shared/adapters/aws/job-telemetry.ts";
import { notifierPart } from "#shared/adapters/aws/parts/notifier.ts";
import { workflowPart } from "#shared/adapters/aws/parts/workflow.ts";
import { notifyApprovers } from "#shared/approval/tasks/notify-approvers.ts";

/** The Step Functions task handler, composed once per container during the init phase. */
export const handler = await composeTask(
  "notify-approvers",
  notifyApprovers,
  {
    workflow: workflowPart,
    notifier: notifierPart,
  },
  { telemetry: tracedTelemetry },
);
