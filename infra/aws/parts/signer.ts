// The KMS part: the evidence signer, and the log view and evidence stores only signing or log-serving functions use.

import { KMSClient } from "@aws-sdk/client-kms";
import { DynamoTransparencyLog } from "#infra/aws/adapters/dynamo-transparency-log.ts";
import { KmsSigner } from "#infra/aws/adapters/kms-signer.ts";
import { S3CheckpointStore } from "#infra/aws/adapters/s3-checkpoint-store.ts";
import { S3EvidenceStore } from "#infra/aws/adapters/s3-evidence-store.ts";
import type { SignerPart } from "#infra/aws/parts.ts";

/** Signs evidence manifests with the asymmetric KMS key; serves the log and stores evidence under it. */
export const signerPart: SignerPart = {
  client: () => new KMSClient({}),
  signer: (client, keyId) => new KmsSigner({ client, keyId }),
  log: (options) => DynamoTransparencyLog.create(options),
  checkpoints: (options) => new S3CheckpointStore(options),
  evidence: (options) => new S3EvidenceStore(options),
};
