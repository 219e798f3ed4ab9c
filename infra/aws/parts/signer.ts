// The KMS part: the evidence signer.

import { KMSClient } from "@aws-sdk/client-kms";
import { KmsSigner } from "#infra/aws/adapters/kms-signer.ts";
import type { SignerPart } from "#infra/aws/parts.ts";

/** Signs evidence manifests with the asymmetric KMS key. */
export const signerPart: SignerPart = {
  client: () => new KMSClient({}),
  signer: (client, keyId) => new KmsSigner({ client, keyId }),
};
