// Signer on a local key: ECDSA P-256 generated on first use under DATA_DIR/keys (mode 0600), never in the repository.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { join } from "node:path";
import { p256 } from "@noble/curves/nist.js";
import { loadOrCreateSecret } from "#infra/local/adapters/file-key-provider.ts";
import { keyFingerprint } from "#shared/crypto/signature.ts";
import { UnavailableError } from "#shared/errors.ts";
import { SIGNATURE_ALGORITHM, type Signer, type SignerPublicKey } from "#shared/ports.ts";

/** File name of the evidence signing key inside the keys directory (PKCS#8 PEM). */
export const EVIDENCE_KEY_FILE = "evidence-signing.pem";

function generatePem(): Uint8Array {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return Buffer.from(privateKey.export({ type: "pkcs8", format: "pem" }));
}

/**
 * Signs SHA-256 digests with a P-256 key kept in `keysDir`. Node's crypto always hashes what it signs, so the
 * digest itself is signed with @noble/curves (audited; `prehash: false`); verification elsewhere uses OpenSSL.
 */
export class LocalSigner implements Signer {
  private constructor(
    private readonly secret: Uint8Array,
    private readonly description: SignerPublicKey,
  ) {}

  /** Loads the key from `keysDir`, generating it on first use. */
  static async open(keysDir: string): Promise<LocalSigner> {
    let privateKey: KeyObject;
    try {
      const pem = await loadOrCreateSecret(join(keysDir, EVIDENCE_KEY_FILE), generatePem);
      privateKey = createPrivateKey({ key: Buffer.from(pem), format: "pem" });
    } catch (error) {
      throw new UnavailableError("signer_unavailable", "the evidence signing key cannot be loaded", {
        cause: error,
      });
    }
    if (privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
      throw new UnavailableError("signer_unavailable", "the evidence signing key is not a P-256 key");
    }
    const jwk = privateKey.export({ format: "jwk" });
    if (typeof jwk.d !== "string") {
      throw new UnavailableError("signer_unavailable", "the evidence signing key has no private part");
    }
    const publicKey = createPublicKey(privateKey);
    return new LocalSigner(Buffer.from(jwk.d, "base64url"), {
      algorithm: SIGNATURE_ALGORITHM,
      pem: publicKey.export({ type: "spki", format: "pem" }).toString(),
      fingerprint: keyFingerprint(publicKey),
    });
  }

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    if (digest.length !== 32) throw new TypeError("signDigest expects a 32-byte SHA-256 digest");
    return p256.sign(digest, this.secret, { prehash: false, format: "der" });
  }

  async publicKey(): Promise<SignerPublicKey> {
    return this.description;
  }
}
