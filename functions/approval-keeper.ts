// Lambda entry of the approval keeper (EventBridge, every minute): heartbeats, lost decisions re-sent, expired waits failed.

import { composeKeeper } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";

/** The scheduled handler, composed once per container during the init phase. */
export const handler = await composeKeeper({ workflow: workflowPart }, { telemetry: tracedTelemetry });
