// Lambda entry of the nightly evidence bundle (EventBridge, after midnight UTC): the previous UTC day, signed with KMS.

import "#infra/aws/parts/parser-early.ts";
import { serveJob } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { signerPart } from "#infra/aws/parts/signer.ts";
import { job } from "#shared/jobs/nightly-evidence.ts";

/** The scheduled handler, composed once per container during the init phase. */
export const handler = await serveJob(job, { signer: signerPart }, { telemetry: tracedTelemetry });
