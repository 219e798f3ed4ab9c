// KMS stand-in (JSON 1.1): the template's asymmetric keys sign (Sign, GetPublicKey) as the evidence signer uses them.
// Pinned to the KMS API reference: Sign takes at most 4096 bytes, a DIGEST must be the algorithm's digest length (32
// bytes for ECDSA_SHA_256), the signature is DER; GetPublicKey returns the DER SubjectPublicKeyInfo; a key whose usage is
// not SIGN_VERIFY answers InvalidKeyUsageException. Key ids, key ARNs are accepted; the key policy is checked by IAM.

import { createHash, createPublicKey, generateKeyPairSync } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
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

interface KmsKey {
  readonly arn: string;
  readonly spec: string;
  readonly usage: string;
  readonly secret?: Uint8Array;
  readonly publicDer?: Buffer;
}

/** The KMS stand-in. */
export class KmsStandIn implements LoopbackService {
  readonly signingName = "kms";
  readonly protocol = "awsJson1_1" as const;
  readonly errorNamespace = "com.amazonaws.kms";
  private readonly keys = new Map<string, KmsKey>();

  constructor(stack: ResolvedStack) {
    for (const resource of stack.ofType("AWS::KMS::Key")) {
      const spec = String(resource.properties.KeySpec ?? "SYMMETRIC_DEFAULT");
      const usage = String(resource.properties.KeyUsage ?? "ENCRYPT_DECRYPT");
      const arn = stack.getAtt(resource.logicalId, "Arn");
      let key: KmsKey = { arn, spec, usage };
      if (spec === "ECC_NIST_P256") {
        const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
        const d = privateKey.export({ format: "jwk" }).d as string;
        key = {
          ...key,
          secret: Buffer.from(d, "base64url"),
          publicDer: createPublicKey(privateKey).export({ type: "spki", format: "der" }),
        };
      }
      this.keys.set(arn, key);
      this.keys.set(stack.ref(resource.logicalId), key);
    }
  }

  /** The DER public key of a key (what an operator publishes outside AWS as the trusted fingerprint). */
  publicKeyDer(keyArn: string): Buffer {
    const der = this.keys.get(keyArn)?.publicDer;
    if (der === undefined) throw new Error(`no asymmetric key ${keyArn}`);
    return der;
  }

  async handle(call: ServiceCall): Promise<WireResponse> {
    const operation = targetOperation(call.request, "TrentService");
    call.operation(operation);
    const input = jsonBody(call.request);
    const key = this.keys.get(String(input.KeyId ?? ""));
    if (key === undefined)
      throw new ServiceError(400, "NotFoundException", `Key '${String(input.KeyId)}' does not exist`);
    call.authorize(`kms:${operation}`, key.arn);
    switch (operation) {
      case "GetPublicKey":
        if (key.publicDer === undefined)
          throw new ServiceError(400, "UnsupportedOperationException", "the key is symmetric");
        return jsonResponse(this.protocol, {
          KeyId: key.arn,
          PublicKey: key.publicDer.toString("base64"),
          KeySpec: key.spec,
          KeyUsage: key.usage,
          SigningAlgorithms: ["ECDSA_SHA_256"],
        });
      case "Sign": {
        if (key.usage !== "SIGN_VERIFY" || key.secret === undefined)
          throw new ServiceError(400, "InvalidKeyUsageException", "the key usage is not SIGN_VERIFY");
        if (input.SigningAlgorithm !== "ECDSA_SHA_256")
          throw new ServiceError(
            400,
            "InvalidKeyUsageException",
            `Algorithm ${String(input.SigningAlgorithm)} is incompatible with key spec ${key.spec}`,
          );
        const message = Buffer.from(String(input.Message ?? ""), "base64");
        if (message.length === 0 || message.length > 4096)
          throw new ServiceError(400, "ValidationException", "Message must be between 1 and 4096 bytes");
        let digest: Uint8Array;
        if (input.MessageType === "DIGEST") {
          if (message.length !== 32)
            throw new ServiceError(
              400,
              "ValidationException",
              "Digest is invalid length for algorithm ECDSA_SHA_256.",
            );
          digest = message;
        } else digest = createHash("sha256").update(message).digest();
        const signature = p256.sign(digest, key.secret, { prehash: false, format: "der" });
        return jsonResponse(this.protocol, {
          KeyId: key.arn,
          Signature: Buffer.from(signature).toString("base64"),
          SigningAlgorithm: "ECDSA_SHA_256",
        });
      }
      default:
        throw new ServiceError(
          400,
          "UnsupportedOperationException",
          `the stand-in does not implement ${operation}`,
        );
    }
  }
}
