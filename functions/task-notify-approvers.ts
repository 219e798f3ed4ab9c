// Lambda entry of the approval task `notify-approvers`: keeps the task token with the approval, notifies approvers once (SNS).

import { composeTask } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { notifierPart } from "#infra/aws/parts/notifier.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
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
