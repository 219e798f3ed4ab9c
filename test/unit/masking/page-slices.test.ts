import { describe, expect, it } from "vitest";
import { cellChars, maskInSlices } from "#shared/masking/page-slices.ts";
import type { Row } from "#shared/sql/types.ts";
import { seededRandom } from "#test/support/seeded-random.ts";

/** A stand-in with the masker's contract: new rows, input untouched (the slicing is what is under test). */
const upper = {
  maskPage: (rows: readonly Row[]): Row[] =>
    rows.map((r) => r.map((c) => (typeof c === "string" ? c.toUpperCase() : c))),
};

async function sliced(page: readonly Row[], sliceChars?: number): Promise<Row[][]> {
  const writes: Row[][] = [];
  await maskInSlices(
    upper,
    page,
    async (rows) => {
      writes.push(rows);
    },
    sliceChars,
  );
  return writes;
}

describe("masking a page in slices", () => {
  it("writes every row once, in order, masked as in one pass, for 500 generated pages", async () => {
    const random = seededRandom(30);
    for (let n = 0; n < 500; n++) {
      const page: Row[] = Array.from({ length: Math.floor(random() * 40) }, (_, i) => [
        i,
        "x".repeat(Math.floor(random() * 300)),
        random() < 0.2 ? null : ["a", "b"],
        { k: "v" },
      ]);
      const writes = await sliced(page, 1 + Math.floor(random() * 2_000));
      expect(writes.flat()).toEqual(upper.maskPage(page));
      for (const write of writes) expect(write.length).toBeGreaterThan(0);
    }
  });

  it("masks a page within one slice in one call, and cuts a wide page at row boundaries", async () => {
    const small: Row[] = [["a"], ["b"]];
    expect(await sliced(small)).toEqual([[["A"], ["B"]]]);
    const wide: Row[] = Array.from({ length: 10 }, () => ["y".repeat(100_000)]);
    // 100,000 characters a row, slices of 256 Ki: a slice closes before the row that would take it past the size.
    expect((await sliced(wide)).map((w) => w.length)).toEqual([2, 2, 2, 2, 2]);
    // A row wider than a slice is a slice of its own, never with a row before or after it.
    const mixed: Row[] = [["a".repeat(200_000)], ["b".repeat(500_000)], ["c".repeat(10)], ["d".repeat(10)]];
    expect((await sliced(mixed)).map((w) => w.length)).toEqual([1, 1, 2]);
  });

  it("lets the event loop run between the slices of a wide page, and not within a small one", async () => {
    const order = async (page: readonly Row[]): Promise<string[]> => {
      const events: string[] = [];
      const done = sliced(page).then(() => events.push("masked"));
      setImmediate(() => events.push("other work"));
      await done;
      await new Promise((r) => setImmediate(r));
      return events;
    };
    expect(await order([["a"], ["b"]])).toEqual(["masked", "other work"]);
    expect(await order(Array.from({ length: 10 }, () => ["y".repeat(100_000)]))).toEqual([
      "other work",
      "masked",
    ]);
  });

  it("counts nested values by what they hold, so a page of wide JSON is cut too (the thirty-sixth attack)", async () => {
    // `[<64 K characters of JSON>]` counted 8: a first page of 128 such rows was one slice, held for a second.
    const wideJson = JSON.parse(
      JSON.stringify([{ a: Array.from({ length: 4_000 }, (_, i) => ({ [`k${i}`]: "v" })) }]),
    );
    const page: Row[] = Array.from({ length: 128 }, () => [wideJson]);
    const writes = await sliced(page);
    expect(writes.length).toBeGreaterThan(10);
    expect(writes.flat()).toEqual(upper.maskPage(page));
    // The count stops at its limit: a value far wider than a slice is not walked whole.
    const whole = cellChars(wideJson, Number.POSITIVE_INFINITY);
    expect(whole).toBeGreaterThan(4_000 * 2 * 16);
    expect(cellChars(wideJson, 1_000)).toBeLessThan(whole / 2);
    expect(cellChars("abc", 1)).toBe(3);
    expect(cellChars(null, 100)).toBe(8);
  });
});
