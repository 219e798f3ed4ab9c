// The Secrets Manager part: purpose keys derived from the key material, and the approver OIDC client secret.

import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { readClientSecret } from "#shared/adapters/aws/client-secret.ts";
import type { SecretsPart } from "#shared/adapters/aws/parts.ts";
import { SecretsKeyProvider } from "#shared/adapters/aws/secrets-key-provider.ts";

/** Keys and the client secret from Secrets Manager. */
export const secretsPart: SecretsPart = {
  client: () => new SecretsManagerClient({}),
  keys: (client, secretArn) => new SecretsKeyProvider({ client, secretArn }),
  clientSecret: readClientSecret,
};
