// SHA-256 and keyed digests, hex-encoded.

import { createHash, createHmac } from "node:crypto";

/** SHA-256 of a string (UTF-8) or bytes, as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** HMAC-SHA256 of a string (UTF-8) or bytes under `key`, as lowercase hex. */
export function hmacSha256Hex(key: Uint8Array, data: string | Uint8Array): string {
  return createHmac("sha256", key).update(data).digest("hex");
}
