// Checking evidence signatures offline: the public key's fingerprint and ECDSA P-256 / SHA-256 verification.

import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { sha256Hex } from "#shared/crypto/digest.ts";

/** A public key parsed from PEM, or a sentence saying why it is not a usable P-256 key. */
export function parsePublicKey(pem: string): { key: KeyObject } | { problem: string } {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    return { problem: "is not a PEM public key" };
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    return { problem: "is not an ECDSA P-256 public key" };
  }
  return { key };
}

/** SHA-256 of the key's DER SubjectPublicKeyInfo, lowercase hex. */
export function keyFingerprint(key: KeyObject): string {
  return sha256Hex(key.export({ type: "spki", format: "der" }));
}

/** Whether `signature` (DER) is a valid ECDSA P-256 signature by `key` over SHA-256 of `bytes`. */
export function verifySignature(key: KeyObject, bytes: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify("sha256", bytes, { key, dsaEncoding: "der" }, signature);
  } catch {
    return false;
  }
}
