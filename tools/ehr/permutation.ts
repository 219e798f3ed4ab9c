// A keyed bijection on [0, n) (a 4-round Feistel network with cycle walking) for unique, random-looking ids.

import { mix32 } from "./prng.ts";

function feistel(value: number, halfBits: number, key: number): number {
  const half = 1 << halfBits;
  const mask = half - 1;
  let left = Math.floor(value / half);
  let right = value & mask;
  for (let round = 0; round < 4; round++) {
    const next = left ^ (mix32(key ^ mix32((right + Math.imul(round + 1, 0x9e3779b9)) >>> 0)) & mask);
    left = right;
    right = next;
  }
  return left * half + right;
}

/**
 * Maps `index` in [0, domain) to a distinct value in [0, domain): distinct indexes always give distinct values.
 * `domain` may be at most 2^30.
 */
export function permute(index: number, domain: number, key: number): number {
  if (!Number.isSafeInteger(domain) || domain < 1 || domain > 0x40000000) {
    throw new RangeError("permute: bad domain");
  }
  if (!Number.isSafeInteger(index) || index < 0 || index >= domain)
    throw new RangeError("permute: bad index");
  let halfBits = 1;
  for (let size = 4; size < domain; size *= 4) halfBits++;
  let value = index;
  do {
    value = feistel(value, halfBits, key);
  } while (value >= domain);
  return value;
}
