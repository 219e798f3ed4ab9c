// A keyed HMAC-SHA256 for many short values, from @noble/hashes: the key's pad states are hashed once per tokenizer.
import { type _HMAC, hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

/** Hex digits returned by {@link createHmacSha256Hex96}. */
export const HMAC_HEX_DIGITS = 24;

/** Bytes of the digest kept: 96 bits. */
const KEPT_BYTES = HMAC_HEX_DIGITS / 2;

/** Bytes of UTF-8 a value may take before it is encoded into a fresh buffer instead of the reused one. */
const SCRATCH_BYTES = 1024;

/**
 * A keyed function returning the first 96 bits (24 hex digits) of HMAC-SHA256(key, UTF-8 of value), the
 * standard HMAC (RFC 2104; keys longer than 64 bytes are hashed first). The keyed inner and outer states are
 * computed once; each value copies them into one reused instance (`_cloneInto`, the way @noble/hashes' own
 * PBKDF2 reuses its keyed PRF), so a value costs its compressions and the result string, not a key schedule
 * or an allocation per hash. Digest and scratch bytes are zeroed after each value.
 */
export function createHmacSha256Hex96(key: Uint8Array): (value: string) => string {
  const keyed: _HMAC<ReturnType<typeof sha256.create>> = hmac.create(sha256, key);
  const running = hmac.create(sha256, key);
  const digest = new Uint8Array(32);
  const scratch = new Uint8Array(SCRATCH_BYTES);
  const encoder = new TextEncoder();

  return (value: string): string => {
    keyed._cloneInto(running);
    const { read, written } = encoder.encodeInto(value, scratch);
    if (read === value.length) {
      running.update(scratch.subarray(0, written));
      scratch.fill(0, 0, written);
    } else {
      running.update(encoder.encode(value));
    }
    running.digestInto(digest);
    const hex = Buffer.from(digest.buffer, digest.byteOffset, KEPT_BYTES).toString("hex");
    digest.fill(0);
    return hex;
  };
}
