// Sealed values: JSON encrypted and authenticated with AES-256-GCM, bound to a purpose (cookies the gateway sets).

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/** A 32-byte subkey of `key` for one use (HKDF-SHA256, the use as info), so one stored key serves several uses. */
export function subkey(key: Uint8Array, use: string): Buffer {
  return Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), `phigate:${use}`, 32));
}

/** Encrypts and authenticates `value` (JSON) under `key`; `purpose` is authenticated data (a cookie can't be swapped for another). */
export function seal(key: Uint8Array, purpose: string, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(purpose, "utf8"));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
}

/** The sealed value, or undefined when it was not sealed under this key and purpose or was altered. */
export function unseal(key: Uint8Array, purpose: string, token: string): unknown {
  if (!/^[A-Za-z0-9_-]{40,8192}$/.test(token)) return undefined;
  const raw = Buffer.from(token, "base64url");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(purpose, "utf8"));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
    return JSON.parse(text.toString("utf8"));
  } catch {
    return undefined;
  }
}
