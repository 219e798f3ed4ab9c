// Signer on KMS: an ECC_NIST_P256 SIGN_VERIFY key signs manifest digests (MessageType DIGEST, ECDSA_SHA_256, DER).

import { createPublicKey } from "node:crypto";
import { GetPublicKeyCommand, type KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { keyFingerprint } from "#shared/crypto/signature.ts";
import { UnavailableError } from "#shared/errors.ts";
import { SIGNATURE_ALGORITHM, type Signer, type SignerPublicKey } from "#shared/ports.ts";

/** Options of the signer. */
export interface KmsSignerOptions {
  readonly client: KMSClient;
  /** The evidence signing key (ARN or alias). */
  readonly keyId: string;
}

function unavailable(message: string, cause?: unknown): UnavailableError {
  return new UnavailableError("signer_unavailable", message, cause === undefined ? {} : { cause });
}

/**
 * KMS never releases the private key: `Sign` receives the 32-byte SHA-256 digest (`MessageType: DIGEST`, so a
 * manifest of any size fits KMS's 4,096-byte limit) and returns an ASN.1 DER ECDSA signature, exactly what the local
 * signer produces and `verify-evidence` checks. The public key (`GetPublicKey`: DER SubjectPublicKeyInfo) is read
 * once per container, checked to be a P-256 signing key, turned into PEM, and fingerprinted like the local signer's
 * (SHA-256 of the DER SPKI), so `verify-evidence --trusted-key` works unchanged on AWS bundles.
 */
export class KmsSigner implements Signer {
  private description: Promise<SignerPublicKey> | undefined;

  constructor(private readonly options: KmsSignerOptions) {}

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    if (digest.length !== 32) throw new TypeError("signDigest expects a 32-byte SHA-256 digest");
    let signature: Uint8Array | undefined;
    try {
      const result = await this.options.client.send(
        new SignCommand({
          KeyId: this.options.keyId,
          Message: digest,
          MessageType: "DIGEST",
          SigningAlgorithm: "ECDSA_SHA_256",
        }),
      );
      signature = result.Signature;
    } catch (error) {
      throw unavailable("the evidence signing key is unavailable", error);
    }
    if (signature === undefined || signature.length === 0) throw unavailable("KMS returned no signature");
    return signature;
  }

  publicKey(): Promise<SignerPublicKey> {
    this.description ??= this.readPublicKey().catch((error: unknown) => {
      this.description = undefined;
      throw error;
    });
    return this.description;
  }

  private async readPublicKey(): Promise<SignerPublicKey> {
    let der: Uint8Array | undefined;
    try {
      const result = await this.options.client.send(new GetPublicKeyCommand({ KeyId: this.options.keyId }));
      if (result.KeySpec !== "ECC_NIST_P256" || result.KeyUsage !== "SIGN_VERIFY") {
        throw unavailable("the evidence signing key is not an ECC_NIST_P256 SIGN_VERIFY key");
      }
      if (!(result.SigningAlgorithms ?? []).includes("ECDSA_SHA_256")) {
        throw unavailable("the evidence signing key does not offer ECDSA_SHA_256");
      }
      der = result.PublicKey;
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      throw unavailable("the evidence signing key is unavailable", error);
    }
    if (der === undefined) throw unavailable("KMS returned no public key");
    const key = createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
    if (key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
      throw unavailable("the evidence signing key is not a P-256 key");
    return {
      algorithm: SIGNATURE_ALGORITHM,
      pem: key.export({ type: "spki", format: "pem" }).toString(),
      fingerprint: keyFingerprint(key),
    };
  }
}
