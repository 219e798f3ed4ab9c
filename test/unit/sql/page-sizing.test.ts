// Page sizing: the next read asks for as many rows of the last page's width as fit the text budget, within [1, pageSize].

import { describe, expect, it } from "vitest";
import {
  FIRST_PAGE_ROWS,
  firstPageRows,
  nextPageRows,
  PAGE_TEXT_CHARS,
  pageTextChars,
} from "#shared/sql/page-sizing.ts";
import { seededRandom } from "#test/support/seeded-random.ts";

describe("page sizing", () => {
  it("counts a page's text, nulls as nothing", () => {
    expect(pageTextChars([])).toBe(0);
    expect(
      pageTextChars([
        ["ab", null, ""],
        ["cde", "f", null],
      ]),
    ).toBe(6);
  });

  it("starts with at most FIRST_PAGE_ROWS rows, never more than the page size, never none", () => {
    expect(firstPageRows(1_000)).toBe(FIRST_PAGE_ROWS);
    expect(firstPageRows(50)).toBe(50);
    expect(firstPageRows(0)).toBe(1);
  });

  it("narrow rows get whole pages, wide rows few, and a row wider than the budget one at a time", () => {
    expect(nextPageRows(1_000, 128, 128 * 40)).toBe(1_000);
    expect(nextPageRows(1_000, 128, 128 * 131_072)).toBe(8);
    expect(nextPageRows(1_000, 3, 3 * PAGE_TEXT_CHARS * 5)).toBe(1);
    expect(nextPageRows(1_000, 0, 0)).toBe(1_000);
    expect(nextPageRows(1_000, 10, 0)).toBe(1_000);
  });

  it("keeps a page of rows as wide as the last page's within the text budget (or one row)", () => {
    const random = seededRandom(18);
    const int = (max: number): number => 1 + Math.floor(random() * max);
    for (let i = 0; i < 5_000; i++) {
      const pageSize = int(5_000);
      const rows = int(5_000);
      const width = int(10_000_000);
      const next = nextPageRows(pageSize, rows, rows * width);
      expect(next).toBeGreaterThanOrEqual(1);
      expect(next).toBeLessThanOrEqual(pageSize);
      if (next > 1) expect(next * width).toBeLessThanOrEqual(PAGE_TEXT_CHARS);
      // Nothing smaller than needed: one more row of that width would not fit, or the page is full.
      if (next < pageSize) expect((next + 1) * width).toBeGreaterThan(PAGE_TEXT_CHARS);
    }
  });
});
