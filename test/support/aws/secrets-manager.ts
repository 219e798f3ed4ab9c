// Secrets Manager stand-in (JSON 1.1): the template's secrets with their generated values; GetSecretValue.
// Pinned to the Secrets Manager API reference: GetSecretValue by ARN or name, ResourceNotFoundException, and for a
// customer-managed key the caller also needs kms:Decrypt on it (through Secrets Manager).

import { randomInt } from "node:crypto";
import {
  jsonBody,
  jsonResponse,
  type LoopbackService,
  type ServiceCall,
  ServiceError,
  targetOperation,
  type WireResponse,
} from "./service.ts";
import type { ResolvedStack } from "./template.ts";

interface StoredSecret {
  readonly arn: string;
  readonly name: string;
  value: string;
  readonly kmsKeyArn: string | undefined;
}

const ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~";

function generate(spec: {
  PasswordLength?: number;
  ExcludeCharacters?: string;
  ExcludePunctuation?: boolean;
}): string {
  const excluded = new Set([...(spec.ExcludeCharacters ?? "")]);
  const pool = [...ALPHABET].filter(
    (c) => !excluded.has(c) && !(spec.ExcludePunctuation === true && !/[A-Za-z0-9]/.test(c)),
  );
  return Array.from({ length: spec.PasswordLength ?? 32 }, () => pool[randomInt(pool.length)]).join("");
}

/** The Secrets Manager stand-in (also what the Data API stand-in reads credentials from). */
export class SecretsManagerStandIn implements LoopbackService {
  readonly signingName = "secretsmanager";
  readonly protocol = "awsJson1_1" as const;
  readonly errorNamespace = "com.amazonaws.secretsmanager";
  private readonly secrets = new Map<string, StoredSecret>();

  constructor(stack: ResolvedStack) {
    for (const resource of stack.ofType("AWS::SecretsManager::Secret")) {
      const p = resource.properties as {
        SecretString?: string;
        GenerateSecretString?: {
          SecretStringTemplate?: string;
          GenerateStringKey?: string;
          PasswordLength?: number;
          ExcludeCharacters?: string;
          ExcludePunctuation?: boolean;
        };
        KmsKeyId?: string;
      };
      let value = p.SecretString ?? "";
      const g = p.GenerateSecretString;
      if (g !== undefined) {
        const generated = generate(g);
        value =
          g.SecretStringTemplate !== undefined && g.GenerateStringKey !== undefined
            ? JSON.stringify({ ...JSON.parse(g.SecretStringTemplate), [g.GenerateStringKey]: generated })
            : generated;
      }
      this.put(stack.ref(resource.logicalId), value, p.KmsKeyId);
    }
  }

  /** Adds or replaces a secret (secrets made outside the stack: an approver client secret, a reader role). */
  put(arn: string, value: string, kmsKeyArn?: string): void {
    const name = arn.split(":secret:")[1]?.replace(/-[A-Za-z0-9]{6}$/, "") ?? arn;
    this.secrets.set(arn, { arn, name, value, kmsKeyArn });
  }

  secretString(arn: string): string | undefined {
    return this.find(arn)?.value;
  }

  keyOf(arn: string): string | undefined {
    return this.find(arn)?.kmsKeyArn;
  }

  private find(id: string): StoredSecret | undefined {
    return this.secrets.get(id) ?? [...this.secrets.values()].find((s) => s.name === id);
  }

  async handle(call: ServiceCall): Promise<WireResponse> {
    const operation = targetOperation(call.request, "secretsmanager");
    call.operation(operation);
    if (operation !== "GetSecretValue")
      throw new ServiceError(400, "UnsupportedOperation", `the stand-in does not implement ${operation}`);
    const input = jsonBody(call.request);
    const secret = this.find(String(input.SecretId ?? ""));
    if (secret === undefined)
      throw new ServiceError(
        400,
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
      );
    call.authorize("secretsmanager:GetSecretValue", secret.arn);
    if (secret.kmsKeyArn !== undefined)
      call.authorize("kms:Decrypt", secret.kmsKeyArn, { "kms:ViaService": "secretsmanager" });
    return jsonResponse(this.protocol, {
      ARN: secret.arn,
      Name: secret.name,
      SecretString: secret.value,
      VersionId: "00000000-0000-0000-0000-000000000001",
      VersionStages: ["AWSCURRENT"],
      CreatedDate: 0,
    });
  }
}
