// Lambda entry of the approval task `close-expired`: expires the approval and its session (unless a decision landed first).

import { serveTask } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { closeExpiredTask } from "#shared/approval/tasks/close-approval.ts";

/** The Step Functions task handler, composed once per container during the init phase. */
export const handler = await serveTask(closeExpiredTask, {}, { telemetry: tracedTelemetry });
