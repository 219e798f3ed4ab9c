// The seeded PRNG and the keyed permutation: same seed, same stream; ranges and weights respected.

import { describe, expect, it } from "vitest";
import { permute } from "#tools/ehr/permutation.ts";
import { hash32, Prng, WeightedTable } from "#tools/ehr/prng.ts";

describe("Prng", () => {
  it("yields a pinned stream for a seed, on every platform", () => {
    const rng = new Prng(1);
    expect([rng.uint32(), rng.uint32(), rng.uint32()]).toEqual([1385921598, 127183865, 2938479904]);
    const keyed = new Prng(1, 2);
    expect([keyed.uint32(), keyed.uint32()]).toEqual([2512278500, 3027791665]);
  });

  it("gives the same stream for the same seed and keys, and a different one otherwise", () => {
    const draw = (rng: Prng) => Array.from({ length: 8 }, () => rng.uint32());
    expect(draw(new Prng(42, 7))).toEqual(draw(new Prng(42, 7)));
    expect(draw(new Prng(42, 7))).not.toEqual(draw(new Prng(42, 8)));
    expect(draw(new Prng(42, 7))).not.toEqual(draw(new Prng(43, 7)));
    expect(hash32(1, 2)).not.toBe(hash32(2, 1));
  });

  it("draws integers within [min, max], reaching both ends", () => {
    const rng = new Prng(9);
    const values = Array.from({ length: 5_000 }, () => rng.int(-3, 3));
    expect([...new Set(values)].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(rng.int(5, 5)).toBe(5);
    expect(() => rng.int(2, 1)).toThrow(RangeError);
    expect(() => rng.pick([])).toThrow(RangeError);
  });

  it("floats lie in [0, 1); chance(0) never and chance(1) always", () => {
    const rng = new Prng(3);
    const values = Array.from({ length: 10_000 }, () => rng.float());
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
    expect(Array.from({ length: 1_000 }, () => rng.chance(0)).some(Boolean)).toBe(false);
    expect(Array.from({ length: 1_000 }, () => rng.chance(1)).every(Boolean)).toBe(true);
  });

  it("picks weighted entries in proportion to their weights and never a zero weight", () => {
    const table = new WeightedTable<string>([
      ["a", 1],
      ["never", 0],
      ["b", 3],
    ]);
    const rng = new Prng(5);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 40_000; i++) {
      const value = table.pick(rng);
      counts[value] = (counts[value] ?? 0) + 1;
    }
    expect(counts.never).toBeUndefined();
    expect((counts.b ?? 0) / (counts.a ?? 1)).toBeCloseTo(3, 0);
    expect(() => new WeightedTable([["x", 0]])).toThrow(RangeError);
  });
});

describe("permute", () => {
  it.each([1, 2, 3, 1000, 65_537])("is a bijection on [0, %i)", (domain) => {
    const values = Array.from({ length: domain }, (_, index) => permute(index, domain, 12345));
    expect(values.every((value) => Number.isInteger(value) && value >= 0 && value < domain)).toBe(true);
    expect(new Set(values).size).toBe(domain);
  });

  it("depends on the key", () => {
    const a = Array.from({ length: 20 }, (_, i) => permute(i, 10_000_000, 1));
    const b = Array.from({ length: 20 }, (_, i) => permute(i, 10_000_000, 2));
    expect(a).not.toEqual(b);
  });
});
