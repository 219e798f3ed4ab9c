// Lambda entry of the nightly evidence bundle (EventBridge, after midnight UTC): the previous UTC day, signed with KMS.

import { composeNightlyEvidence } from "#shared/adapters/aws/compose-jobs.ts";
import { tracedTelemetry } from "#shared/adapters/aws/job-telemetry.ts";
import { signerPart } from "#shared/adapters/aws/parts/signer.ts";

/** The scheduled handler, composed once per container during the init phase. */
export const handler = await composeNightlyEvidence({ signer: signerPart }, { telemetry: tracedTelemetry });
