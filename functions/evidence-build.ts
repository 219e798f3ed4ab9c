// Lambda entry of the evidence-build job (its own state machine): builds a requested bundle, signed with KMS.

import "#infra/aws/parts/parser-early.ts";
import { serveJob } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { signerPart } from "#infra/aws/parts/signer.ts";
import { job } from "#shared/jobs/evidence-build.ts";

/** The state machine's task handler, composed once per container during the init phase. */
export const handler = await serveJob(job, { signer: signerPart }, { telemetry: tracedTelemetry });
