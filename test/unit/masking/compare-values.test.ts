// The order masked json keys are numbered in: total, consistent, and blind to nothing but the masked values.

import { describe, expect, it, vi } from "vitest";
import { compareValues, keyLists } from "#shared/masking/cell-maskers.ts";
import type { CellValue } from "#shared/sql/types.ts";
import { seededRandom } from "#test/support/seeded-random.ts";

function generate(random: () => number, depth: number): CellValue {
  const r = random();
  if (depth <= 0 || r < 0.35) {
    const s = random();
    if (s < 0.15) return null;
    if (s < 0.3) return random() < 0.5;
    if (s < 0.6) return Math.floor(random() * 5) - 2;
    return ["", "a", "b", "ab", "[SSN]"][Math.floor(random() * 5)] ?? "";
  }
  const n = Math.floor(random() * 3);
  if (r < 0.65) return Array.from({ length: n }, () => generate(random, depth - 1));
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, generate(random, depth - 1)]));
}

const sign = (n: number) => Math.sign(n) + 0;

describe("compareValues", () => {
  it("is a total order: reflexive, antisymmetric, transitive, and zero exactly for equal values", () => {
    const random = seededRandom(0xc0de);
    const values = Array.from({ length: 300 }, () => generate(random, 4));
    for (const a of values) {
      expect(compareValues(a, a)).toBe(0);
      for (const b of values) {
        const ab = sign(compareValues(a, b));
        expect(ab).toBe(sign(-compareValues(b, a)));
        expect(ab === 0).toBe(JSON.stringify(a) === JSON.stringify(b));
      }
    }
    const sorted = [...values].sort(compareValues);
    for (let i = 0; i + 2 < sorted.length; i++) {
      const [a, b, c] = [sorted[i], sorted[i + 1], sorted[i + 2]] as [CellValue, CellValue, CellValue];
      expect(compareValues(a, b)).toBeLessThanOrEqual(0);
      expect(compareValues(a, c)).toBeLessThanOrEqual(0);
      expect(compareValues(b, c)).toBeLessThanOrEqual(0);
    }
  });

  it("lists an object's keys once however often it is compared, with the same order as listing them each time", () => {
    const wide = Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, 0]));
    const siblings: CellValue[] = [wide, ...Array.from({ length: 200 }, () => ({}) as CellValue), { a: 1 }];
    const each = [...siblings].sort((a, b) => compareValues(a, b));
    const listing = vi.spyOn(Object, "keys");
    try {
      const keysOf = keyLists();
      const once = [...siblings].sort((a, b) => compareValues(a, b, keysOf));
      // At most one listing per object, though the sort compares the wide one many times.
      expect(listing.mock.calls.length).toBeLessThanOrEqual(siblings.length);
      expect(once).toEqual(each);
    } finally {
      listing.mockRestore();
    }
  });
});
