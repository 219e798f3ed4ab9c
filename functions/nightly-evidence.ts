// Lambda entry of the nightly evidence bundle (EventBridge, after midnight UTC): the previous UTC day, signed with KMS.

import { composeNightlyEvidence } from "#infra/aws/compose-jobs.ts";
import { tracedTelemetry } from "#infra/aws/job-telemetry.ts";
import { signerPart } from "#infra/aws/parts/signer.ts";

/** The scheduled handler, composed once per container during the init phase. */
export const handler = await composeNightlyEvidence({ signer: signerPart }, { telemetry: tracedTelemetry });
