// Lambda entry of the approval task `notify-approvers`: keeps the task token with the approval, notifies approvers once (SNS).

import { serveTask } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { notifierPart } from "#infra/aws/parts/notifier.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
import { notifyApproversTask } from "#shared/approval/tasks/notify-approvers.ts";

/** The Step Functions task handler, composed once per container during the init phase. */
export const handler = await serveTask(
  notifyApproversTask,
  { workflow: workflowPart, notifier: notifierPart },
  { telemetry: tracedTelemetry },
);
