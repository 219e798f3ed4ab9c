// The approver OIDC client secret from Secrets Manager: a plain string, or JSON with a `clientSecret` field.

import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod";
import { UnavailableError } from "#shared/errors.ts";

const jsonSecretSchema = z.object({ clientSecret: z.string().min(1) });

/** Reads the secret once (at cold start); its value is never logged. */
export async function readClientSecret(client: SecretsManagerClient, secretArn: string): Promise<string> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (error) {
    throw new UnavailableError("signin_unavailable", "the approver sign-in client secret is unavailable", {
      cause: error,
    });
  }
  if (text === undefined || text.length === 0)
    throw new UnavailableError("signin_unavailable", "the approver sign-in client secret is empty");
  if (!text.trimStart().startsWith("{")) return text;
  const parsed = jsonSecretSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new UnavailableError("signin_unavailable", "the approver sign-in secret has no clientSecret field");
  return parsed.data.clientSecret;
}
