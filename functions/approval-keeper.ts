// Lambda entry of the approval keeper (EventBridge, every minute): heartbeats, lost decisions re-sent, expired waits failed.

import { serveJob } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
import { job } from "#shared/jobs/approval-keeper.ts";

/** The scheduled handler, composed once per container during the init phase. */
export const handler = await serveJob(job, { workflow: workflowPart }, { telemetry: tracedTelemetry });
