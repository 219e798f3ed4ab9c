// Identifiers: time-ordered session ids and opaque random ids, both in Crockford base32.

import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encodeTime(ms: number, length: number): string {
  let out = "";
  let value = ms;
  for (let i = 0; i < length; i++) {
    out = (ALPHABET[value % 32] ?? "0") + out;
    value = Math.floor(value / 32);
  }
  return out;
}

function encodeRandom(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const byte of bytes) out += ALPHABET[byte % 32];
  return out;
}

/**
 * What a session id looks like: `ses_` + 26 characters. Case-insensitive letters rather than only
 * {@link newSessionId}'s Crockford alphabet, so ids of records written before are still accepted.
 */
export const SESSION_ID_PATTERN = /^ses_[0-9A-Za-z]{26}$/;

/** A new session id: `ses_` + 10 characters of milliseconds + 16 random characters (80 bits). */
export function newSessionId(now: Date): string {
  return `ses_${encodeTime(now.getTime(), 10)}${encodeRandom(16)}`;
}

/** A new opaque id with the given prefix and 128 bits of randomness (approval links, bundles). */
export function newOpaqueId(prefix: string): string {
  return `${prefix}_${encodeRandom(26)}`;
}
