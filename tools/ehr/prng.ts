// A small seeded PRNG (sfc32 keyed through splitmix32) whose streams are identical on every platform.

/** Murmur3's 32-bit finalizer: a cheap, well-mixing bijection on uint32. */
export function mix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function absorb(h: number, key: number): number {
  return mix32((h + 0x9e3779b9 + mix32(key)) >>> 0);
}

/** Hashes a seed and up to three integer keys (each taken modulo 2^32) to one uint32; allocation-free. */
export function hash32(seed: number, a?: number, b?: number, c?: number): number {
  let h = mix32(seed ^ 0x5bd1e995);
  if (a !== undefined) h = absorb(h, a);
  if (b !== undefined) h = absorb(h, b);
  if (c !== undefined) h = absorb(h, c);
  return h;
}

/** An entry of a weighted table: a value and its non-negative integer weight. */
export type Weighted<T> = readonly [value: T, weight: number];

/**
 * A deterministic pseudo-random stream (sfc32: 128-bit state, period ≥ 2^32, passes PractRand to 2^42 bytes).
 * Only 32-bit integer operations and exact IEEE-754 arithmetic are used, so a seed yields the same stream on
 * every platform and every Node version.
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** A stream keyed by a 32-bit seed and up to two integer keys (e.g. a purpose tag and a row index). */
  constructor(seed: number, a?: number, b?: number) {
    const state = hash32(seed, a, b);
    this.#a = mix32((state + 0x9e3779b9) >>> 0);
    this.#b = mix32((state + 2 * 0x9e3779b9) >>> 0);
    this.#c = mix32((state + 3 * 0x9e3779b9) >>> 0);
    this.#d = mix32((state + 4 * 0x9e3779b9) >>> 0);
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** The next value, uniform over [0, 2^32). */
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float uniform over [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer uniform over [min, max] (both inclusive; the range must not exceed 2^32 values). */
  int(min: number, max: number): number {
    const span = max - min + 1;
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || span < 1 || span > 4294967296) {
      throw new RangeError(`Prng.int: invalid range [${min}, ${max}]`);
    }
    return min + Math.min(span - 1, Math.floor(this.float() * span));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Prng.pick: empty array");
    return items[this.int(0, items.length - 1)] as T;
  }
}

/** A precomputed weighted table for repeated picks (integer weights, so picks are exact). */
export class WeightedTable<T> {
  readonly #values: T[] = [];
  readonly #cumulative: number[] = [];
  readonly #total: number;

  /** Builds the table; weights must be non-negative integers with a positive sum. */
  constructor(entries: readonly Weighted<T>[]) {
    let total = 0;
    for (const [value, weight] of entries) {
      if (!Number.isSafeInteger(weight) || weight < 0) throw new RangeError("WeightedTable: bad weight");
      if (weight === 0) continue;
      total += weight;
      this.#values.push(value);
      this.#cumulative.push(total);
    }
    if (total === 0 || total > 4294967296) throw new RangeError("WeightedTable: total weight out of range");
    this.#total = total;
  }

  /** Picks one value using `rng`. */
  pick(rng: Prng): T {
    return this.at(rng.int(0, this.#total - 1));
  }

  /** The value owning ticket `ticket` in [0, total): lets a plain hash stand in for a PRNG. */
  at(ticket: number): T {
    let lo = 0;
    let hi = this.#cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ticket < (this.#cumulative[mid] ?? 0)) hi = mid;
      else lo = mid + 1;
    }
    return this.#values[lo] as T;
  }

  /** The sum of the weights. */
  get total(): number {
    return this.#total;
  }
}
