// The Secrets Manager key provider: one read per container, independent 32-byte keys per purpose, failures not cached.

import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SecretsKeyProvider } from "#infra/aws/adapters/secrets-key-provider.ts";
import { UnavailableError } from "#shared/errors.ts";

const SECRET = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:phigate-keys";
const secrets = mockClient(SecretsManagerClient);

function provider(): SecretsKeyProvider {
  return new SecretsKeyProvider({
    client: new SecretsManagerClient({ region: "eu-west-1" }),
    secretArn: SECRET,
  });
}

beforeEach(() => {
  secrets.reset();
});

describe("SecretsKeyProvider", () => {
  it("reads the secret once and derives a distinct, stable 32-byte key per purpose", async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ master: "m".repeat(64) }) });
    const keys = provider();
    const tokenization = await keys.key("tokenization");
    const digest = await keys.key("parameter-digest");
    const link = await keys.key("result-link");
    const approver = await keys.key("approver-session");
    expect(tokenization).toHaveLength(32);
    expect(approver).toHaveLength(32);
    expect(
      new Set([tokenization, digest, link, approver].map((k) => Buffer.from(k).toString("hex"))).size,
    ).toBe(4);
    expect(await keys.key("tokenization")).toEqual(tokenization);
    expect(await provider().key("tokenization")).toEqual(tokenization);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: SECRET });
  });

  it("derives different keys from different material", async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ master: "a".repeat(64) }) })
      .resolvesOnce({ SecretString: JSON.stringify({ master: "b".repeat(64) }) });
    const first = await provider().key("tokenization");
    expect(await provider().key("tokenization")).not.toEqual(first);
  });

  it("is unavailable when the secret cannot be read or is malformed, and tries again next time", async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error("throttled"))
      .resolvesOnce({ SecretString: JSON.stringify({ master: "short" }) })
      .resolves({ SecretString: JSON.stringify({ master: "c".repeat(64) }) });
    const keys = provider();
    await expect(keys.key("tokenization")).rejects.toBeInstanceOf(UnavailableError);
    await expect(keys.key("tokenization")).rejects.toMatchObject({ code: "store_unavailable" });
    expect(await keys.key("tokenization")).toHaveLength(32);
  });
});
