// Page sizing: the next read asks for as many rows of the last page's width as fit the text budget, within [1, pageSize].

import { describe, expect, it } from "vitest";
import {
  columnWeights,
  FIRST_PAGE_ROWS,
  firstPageRows,
  MAX_PAGE_CHARS,
  MAX_ROW_CHARS,
  nextPageRows,
  PAGE_TEXT_CHARS,
  PageBudget,
  pageRuns,
  pageTextChars,
  STRUCTURED_WEIGHT,
  VALUE_CHARS,
} from "#shared/sql/page-sizing.ts";
import { seededRandom } from "#test/support/seeded-random.ts";

describe("page sizing", () => {
  it("counts a page's text, each value besides, structured values at their weight", () => {
    expect(pageTextChars([], [])).toBe(0);
    expect(
      pageTextChars(
        [
          ["ab", null, ""],
          ["cde", "f", null],
        ],
        [1, 1, 1],
      ),
    ).toBe(6 + 6 * VALUE_CHARS);
    // text, jsonb, an int4 array
    expect(columnWeights([25, 3802, 1007, 114])).toEqual([
      1,
      STRUCTURED_WEIGHT,
      STRUCTURED_WEIGHT,
      STRUCTURED_WEIGHT,
    ]);
    expect(pageTextChars([["ab", "[{}]", "{1}", null]], columnWeights([25, 3802, 1007, 114]))).toBe(
      2 + 7 * STRUCTURED_WEIGHT + 4 * VALUE_CHARS,
    );
  });

  it("refuses a row past its limit and a page past its own, counting from zero on each page", () => {
    const text = new PageBudget([1]);
    expect(text.add(["x".repeat(MAX_ROW_CHARS - VALUE_CHARS)])).toBeUndefined();
    expect(text.next()).toBe(MAX_ROW_CHARS);
    expect(text.add(["x".repeat(MAX_ROW_CHARS - VALUE_CHARS + 1)])).toMatchObject({
      status: 422,
      code: "row_too_large",
    });
    const json = new PageBudget([STRUCTURED_WEIGHT]);
    expect(json.add(["[".repeat(MAX_ROW_CHARS / STRUCTURED_WEIGHT)])).toMatchObject({
      code: "row_too_large",
    });
    // Empty values count too: a page of very many of them is not nothing.
    const empty = new PageBudget(Array.from({ length: 1_600 }, () => 1));
    const emptyRow = Array.from({ length: 1_600 }, () => "");
    for (let i = 0; i < 1_000; i++) expect(empty.add(emptyRow)).toBeUndefined();
    expect(empty.next()).toBe(1_000 * 1_600 * VALUE_CHARS);
    expect(nextPageRows(1_000, 1_000, 1_000 * 1_600 * VALUE_CHARS)).toBe(40);
    const page = new PageBudget([1]);
    const row = ["y".repeat(MAX_ROW_CHARS - VALUE_CHARS)];
    const rows = Array.from({ length: MAX_PAGE_CHARS / MAX_ROW_CHARS }, () => row);
    expect(page.addPage(rows)).toBeUndefined();
    expect(page.next()).toBe(MAX_PAGE_CHARS);
    expect(page.addPage(rows)).toBeUndefined();
    expect(page.add(["z"])).toMatchObject({ status: 422, code: "page_too_large" });
    // A first page, read before any width is known, of rows each within the row limit is within the page limit
    // (the thirty-third outside attack: 128 uniform rows of 600 k characters were refused as page_too_large).
    expect(FIRST_PAGE_ROWS * MAX_ROW_CHARS).toBeLessThanOrEqual(MAX_PAGE_CHARS);
    const first = new PageBudget([1]);
    const widest = ["w".repeat(MAX_ROW_CHARS - VALUE_CHARS)];
    expect(first.addPage(Array.from({ length: FIRST_PAGE_ROWS }, () => widest))).toBeUndefined();
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

  it("cuts a page into runs of bounded text, never splitting a row, and leaves a small page whole", () => {
    const random = seededRandom(31);
    const small = [["a"], ["b"]];
    expect(pageRuns(small, 2, [1])[0]).toBe(small);
    for (let i = 0; i < 200; i++) {
      const page = Array.from({ length: 1 + Math.floor(random() * 300) }, (_, j) => [
        String(j),
        random() < 0.2
          ? null
          : "x".repeat(Math.floor(random() * PAGE_TEXT_CHARS * (random() < 0.1 ? 1.5 : 0.02))),
      ]);
      const weights = [1, random() < 0.5 ? 1 : STRUCTURED_WEIGHT];
      const runs = pageRuns(page, pageTextChars(page, weights), weights);
      expect(runs.flat()).toEqual(page);
      for (const run of runs) {
        expect(run.length).toBeGreaterThan(0);
        if (run.length > 1) expect(pageTextChars(run, weights)).toBeLessThanOrEqual(PAGE_TEXT_CHARS);
      }
    }
  });
});
