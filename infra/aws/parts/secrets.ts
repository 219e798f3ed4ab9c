// The Secrets Manager part: purpose keys derived from the key material, and the approver OIDC client secret.

import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { readClientSecret } from "#infra/aws/adapters/client-secret.ts";
import { SecretsKeyProvider } from "#infra/aws/adapters/secrets-key-provider.ts";
import type { SecretsPart } from "#infra/aws/parts.ts";

/** Keys and the client secret from Secrets Manager. */
export const secretsPart: SecretsPart = {
  client: () => new SecretsManagerClient({}),
  keys: (client, secretArn) => new SecretsKeyProvider({ client, secretArn }),
  clientSecret: readClientSecret,
};
