// HMAC-SHA256 of short values without per-call native overhead: the keyed pad states are hashed once, each value costs two SHA-256 compressions.
import { createHash, createHmac } from "node:crypto";

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const HEX = Int32Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

/** Longest input (in bytes) that fits one SHA-256 block after a pad state: 64 − 1 (0x80) − 8 (length). */
const SINGLE_BLOCK = 55;

function bigSigma0(a: number): number {
  return ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
}

function bigSigma1(e: number): number {
  return ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
}

/**
 * The SHA-256 compression function (FIPS 180-4 §6.2.2): folds the 16 words in `w[0..15]` into state `s`
 * (`w[16..63]` is scratch). Eight rounds per iteration with the working variables renamed instead of shifted.
 */
function compress(s: Int32Array, w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15] as number;
    const y = w[i - 2] as number;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) | 0;
  }
  let a = s[0] as number;
  let b = s[1] as number;
  let c = s[2] as number;
  let d = s[3] as number;
  let e = s[4] as number;
  let f = s[5] as number;
  let g = s[6] as number;
  let h = s[7] as number;
  let t = 0;
  for (let i = 0; i < 64; i += 8) {
    t = (h + bigSigma1(e) + (g ^ (e & (f ^ g))) + (K[i] as number) + (w[i] as number)) | 0;
    d = (d + t) | 0;
    h = (t + bigSigma0(a) + ((a & b) ^ (c & (a ^ b)))) | 0;
    t = (g + bigSigma1(d) + (f ^ (d & (e ^ f))) + (K[i + 1] as number) + (w[i + 1] as number)) | 0;
    c = (c + t) | 0;
    g = (t + bigSigma0(h) + ((h & a) ^ (b & (h ^ a)))) | 0;
    t = (f + bigSigma1(c) + (e ^ (c & (d ^ e))) + (K[i + 2] as number) + (w[i + 2] as number)) | 0;
    b = (b + t) | 0;
    f = (t + bigSigma0(g) + ((g & h) ^ (a & (g ^ h)))) | 0;
    t = (e + bigSigma1(b) + (d ^ (b & (c ^ d))) + (K[i + 3] as number) + (w[i + 3] as number)) | 0;
    a = (a + t) | 0;
    e = (t + bigSigma0(f) + ((f & g) ^ (h & (f ^ g)))) | 0;
    t = (d + bigSigma1(a) + (c ^ (a & (b ^ c))) + (K[i + 4] as number) + (w[i + 4] as number)) | 0;
    h = (h + t) | 0;
    d = (t + bigSigma0(e) + ((e & f) ^ (g & (e ^ f)))) | 0;
    t = (c + bigSigma1(h) + (b ^ (h & (a ^ b))) + (K[i + 5] as number) + (w[i + 5] as number)) | 0;
    g = (g + t) | 0;
    c = (t + bigSigma0(d) + ((d & e) ^ (f & (d ^ e)))) | 0;
    t = (b + bigSigma1(g) + (a ^ (g & (h ^ a))) + (K[i + 6] as number) + (w[i + 6] as number)) | 0;
    f = (f + t) | 0;
    b = (t + bigSigma0(c) + ((c & d) ^ (e & (c ^ d)))) | 0;
    t = (a + bigSigma1(f) + (h ^ (f & (g ^ h))) + (K[i + 7] as number) + (w[i + 7] as number)) | 0;
    e = (e + t) | 0;
    a = (t + bigSigma0(b) + ((b & c) ^ (d & (b ^ c)))) | 0;
  }
  s[0] = ((s[0] as number) + a) | 0;
  s[1] = ((s[1] as number) + b) | 0;
  s[2] = ((s[2] as number) + c) | 0;
  s[3] = ((s[3] as number) + d) | 0;
  s[4] = ((s[4] as number) + e) | 0;
  s[5] = ((s[5] as number) + f) | 0;
  s[6] = ((s[6] as number) + g) | 0;
  s[7] = ((s[7] as number) + h) | 0;
}

/** The state after hashing one block of the key XOR `pad` (HMAC's inner or outer prefix). */
function padState(key: Buffer, pad: number, w: Int32Array): Int32Array {
  const block = Buffer.alloc(64, pad);
  for (let i = 0; i < key.length; i++) block[i] = (block[i] as number) ^ (key[i] as number);
  for (let i = 0; i < 16; i++) w[i] = block.readInt32BE(i * 4);
  block.fill(0);
  const h = Int32Array.from(IV);
  compress(h, w);
  return h;
}

/** Hex digits returned by {@link createHmacSha256Hex96}. */
export const HMAC_HEX_DIGITS = 24;

/** Nibble `i` (0 = most significant) of word `x` as a hex character code. */
function nib(x: number, i: number): number {
  return HEX[(x >>> (28 - 4 * i)) & 15] as number;
}

/**
 * A keyed function returning the first 96 bits (24 hex digits) of HMAC-SHA256(key, UTF-8 of value).
 * Values of at most 55 ASCII characters (identifiers, names, MRNs) take a fast path: the key's inner and
 * outer pad states are computed once, so each value costs two compressions and no allocation besides the
 * result; longer or non-ASCII values use `node:crypto`. Both paths give the standard HMAC (tests compare them).
 * Keys longer than 64 bytes are hashed first, as HMAC specifies.
 */
export function createHmacSha256Hex96(key: Buffer): (value: string) => string {
  const original = Buffer.from(key);
  const secret = key.length > 64 ? createHash("sha256").update(key).digest() : original;
  const w = new Int32Array(64);
  const inner = padState(secret, 0x36, w);
  const outer = padState(secret, 0x5c, w);
  const h = new Int32Array(8);
  const bytes = new Uint8Array(64);

  const slow = (value: string): string =>
    createHmac("sha256", original).update(value, "utf8").digest("hex").slice(0, HMAC_HEX_DIGITS);

  return (value: string): string => {
    const n = value.length;
    if (n > SINGLE_BLOCK) return slow(value);
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c > 127) {
        bytes.fill(0);
        return slow(value);
      }
      bytes[i] = c;
    }
    bytes[n] = 0x80;
    bytes.fill(0, n + 1, 62);
    const bits = (64 + n) * 8;
    bytes[62] = bits >>> 8;
    bytes[63] = bits & 255;
    for (let i = 0; i < 16; i++) {
      const p = i * 4;
      w[i] =
        ((bytes[p] as number) << 24) |
        ((bytes[p + 1] as number) << 16) |
        ((bytes[p + 2] as number) << 8) |
        (bytes[p + 3] as number);
    }
    h.set(inner);
    compress(h, w);
    for (let i = 0; i < 8; i++) w[i] = h[i] as number;
    w[8] = 0x80000000;
    w.fill(0, 9, 15);
    w[15] = (64 + 32) * 8;
    h.set(outer);
    compress(h, w);
    bytes.fill(0);
    const x = h[0] as number;
    const y = h[1] as number;
    const z = h[2] as number;
    // biome-ignore format: one nibble per argument
    return String.fromCharCode(
      nib(x, 0), nib(x, 1), nib(x, 2), nib(x, 3), nib(x, 4), nib(x, 5), nib(x, 6), nib(x, 7),
      nib(y, 0), nib(y, 1), nib(y, 2), nib(y, 3), nib(y, 4), nib(y, 5), nib(y, 6), nib(y, 7),
      nib(z, 0), nib(z, 1), nib(z, 2), nib(z, 3), nib(z, 4), nib(z, 5), nib(z, 6), nib(z, 7),
    );
  };
}
