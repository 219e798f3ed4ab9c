// The evidence-jobs part: starting a requested bundle's build on its Step Functions state machine.

import { SFNClient } from "@aws-sdk/client-sfn";
import { SfnEvidenceLauncher } from "#infra/aws/adapters/sfn-evidence-launcher.ts";
import type { EvidenceJobsPart } from "#infra/aws/parts.ts";

/** Starts evidence-build executions. */
export const evidenceJobsPart: EvidenceJobsPart = {
  client: () => new SFNClient({}),
  launcher: (client, stateMachineArn, bucket) => new SfnEvidenceLauncher({ client, stateMachineArn, bucket }),
};
