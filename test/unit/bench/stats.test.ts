// The bench's statistics helpers: median, spread over runs and the MET/MISSED verdict against a target.

import { describe, expect, it } from "vitest";
import { formatSpread, median, meets, percentile, spread, verdict } from "#bench/support/stats.ts";

describe("bench statistics", () => {
  it("takes the nearest-rank median and percentiles", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(percentile([10, 20, 30, 40], 99)).toBe(40);
    expect(Number.isNaN(median([]))).toBe(true);
  });

  it("reports median and min–max over runs", () => {
    const s = spread([6.91, 6.02, 6.5], 1);
    expect(s).toEqual({ median: 6.5, min: 6, max: 6.9, runs: 3 });
    expect(formatSpread(s, (v) => `+${v} ms`)).toBe("+6.5 ms (+6 ms–+6.9 ms, 3 runs)");
    expect(spread([]).runs).toBe(0);
  });

  it("judges a figure against its target", () => {
    expect(verdict(meets(1.5, { op: "<=", limit: 1.5 }))).toBe("MET");
    expect(verdict(meets(1.51, { op: "<=", limit: 1.5 }))).toBe("MISSED");
    expect(verdict(meets(80, { op: ">=", limit: 80 }))).toBe("MET");
    expect(verdict(meets(256, { op: "<", limit: 256 }))).toBe("MISSED");
    expect(meets(Number.NaN, { op: ">=", limit: 0 })).toBe(false);
  });
});
