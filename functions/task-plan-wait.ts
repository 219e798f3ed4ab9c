// Lambda entry of the approval task `plan-wait`: the seconds left before the approval expires and the heartbeat interval.

import { serveTask } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { planWaitTask } from "#shared/approval/tasks/plan-wait.ts";

/** The Step Functions task handler, composed once per container during the init phase. */
export const handler = await serveTask(planWaitTask, {}, { telemetry: tracedTelemetry });
