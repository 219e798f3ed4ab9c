// Masks a page in slices of bounded text, letting the event loop run between them, so a page of very wide rows never
// holds the gateway (every caller's requests, timers and sockets) for the seconds its masking takes.

import { setImmediate as nextTurn } from "node:timers/promises";
import type { Masker } from "#shared/masking/masker.ts";
import type { CellValue, Row } from "#shared/sql/types.ts";

/**
 * Characters of text a slice holds before the next row starts another: masking with detectors runs at roughly
 * 130 ms per million characters on the development machine, so a slice holds the event loop some 30 ms at most.
 */
export const MASK_SLICE_CHARS = 256 * 1024;

/**
 * A cell's size in characters of text, nested values included (a key or item counts 16, a string its length, any
 * other value 8), counted up to `limit`: a walk of the value with its own stack (no depth limit), that stops once the
 * slice is full, so it never costs more than the masking of what it counted. Counting only a nested value's top
 * level made `[<64 K characters of JSON>]` count 8, and a page of 128 such rows one slice (the thirty-sixth attack).
 */
export function cellChars(value: CellValue, limit: number): number {
  if (typeof value === "string") return value.length;
  if (value === null || typeof value !== "object") return 8;
  let chars = 0;
  const stack: CellValue[] = [value];
  while (stack.length > 0 && chars < limit) {
    const v = stack.pop() as CellValue;
    if (typeof v === "string") chars += v.length;
    else if (v === null || typeof v !== "object") chars += 8;
    else if (Array.isArray(v)) {
      chars += 16 * v.length;
      if (chars < limit) for (const item of v) stack.push(item);
    } else {
      for (const key in v) {
        chars += 16 + key.length;
        if (chars >= limit) break;
        stack.push(v[key] ?? null);
      }
    }
  }
  return chars;
}

function rowChars(row: Row, limit: number): number {
  let chars = 0;
  for (const cell of row) {
    chars += cellChars(cell, limit - chars);
    if (chars >= limit) break;
  }
  return chars;
}

/**
 * Masks `page` and hands the masked rows to `write` in order, in slices of at most `sliceChars` characters of text
 * each, or one row when a row alone is wider (a row is never split); between slices it yields to the event loop. A
 * slice closes before the row that would take it past `sliceChars`: closing it only once it had reached the size let
 * a slice just under it take one more row of up to 512 Ki (the thirty-seventh attack: 768 Ki of date-shaped text,
 * 0.3–0.8 s with no other caller served). A page within one slice is masked and written in one call with no yield.
 */
export async function maskInSlices(
  masker: Pick<Masker, "maskPage">,
  page: readonly Row[],
  write: (rows: Row[]) => Promise<void>,
  sliceChars: number = MASK_SLICE_CHARS,
): Promise<void> {
  let start = 0;
  let chars = 0;
  for (let i = 0; i < page.length; i++) {
    const row = page[i] as Row;
    let size = rowChars(row, sliceChars - chars + 1);
    if (i > start && chars + size > sliceChars) {
      await write(masker.maskPage(page.slice(start, i)));
      start = i;
      chars = 0;
      await nextTurn();
      size = rowChars(row, sliceChars + 1);
    }
    chars += size;
  }
  if (start < page.length) await write(masker.maskPage(start === 0 ? page : page.slice(start)));
}
