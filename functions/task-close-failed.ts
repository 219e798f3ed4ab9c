// Lambda entry of the approval task `close-failed`: fails the approval and its session closed.

import { serveTask } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { closeFailedTask } from "#shared/approval/tasks/close-approval.ts";

/** The Step Functions task handler, composed once per container during the init phase. */
export const handler = await serveTask(closeFailedTask, {}, { telemetry: tracedTelemetry });
