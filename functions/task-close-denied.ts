// Lambda entry of the approval task `close-denied`: records the session denied, with every decision.

import { serveTask } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { closeDeniedTask } from "#shared/approval/tasks/close-approval.ts";

/** The Step Functions task handler, composed once per container during the init phase. */
export const handler = await serveTask(closeDeniedTask, {}, { telemetry: tracedTelemetry });
