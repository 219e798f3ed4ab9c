// EvidenceJobLauncher on Step Functions: one execution of the evidence-build state machine per bundle, named by its id.

import { type SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { BUNDLES_PREFIX } from "#infra/aws/adapters/s3-evidence-store.ts";
import { UnavailableError } from "#shared/errors.ts";
import type { EvidenceJobLauncher } from "#shared/evidence/evidence-jobs.ts";

/** Options of the launcher. */
export interface SfnEvidenceLauncherOptions {
  readonly client: SFNClient;
  readonly stateMachineArn: string;
  /** The evidence bucket (the bundle's location). */
  readonly bucket: string;
}

/** Starts `{"bundleId"}` on the evidence-build machine; a retried start of the same id is idempotent. */
export class SfnEvidenceLauncher implements EvidenceJobLauncher {
  constructor(private readonly options: SfnEvidenceLauncherOptions) {}

  location(bundleId: string): string {
    return `s3://${this.options.bucket}/${BUNDLES_PREFIX}${bundleId}/`;
  }

  async launch(bundleId: string): Promise<void> {
    try {
      await this.options.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.options.stateMachineArn,
          name: bundleId,
          input: JSON.stringify({ bundleId }),
        }),
      );
    } catch (error) {
      throw new UnavailableError("workflow_unavailable", "the evidence build could not be started", {
        cause: error,
      });
    }
  }
}
