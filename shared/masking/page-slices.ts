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

/** A cheap size for a cell: a string's length; a nested value's item or key count (no walk, so no depth limit). */
function cellChars(value: CellValue): number {
  if (typeof value === "string") return value.length;
  if (Array.isArray(value)) return 8 * value.length;
  if (value !== null && typeof value === "object") return 16 * Object.keys(value).length;
  return 8;
}

function rowChars(row: Row): number {
  let chars = 0;
  for (const cell of row) chars += cellChars(cell);
  return chars;
}

/**
 * Masks `page` and hands the masked rows to `write` in order, in slices of about `sliceChars` characters of text
 * each (a row is never split); between slices it yields to the event loop. A page within one slice is masked and
 * written in one call with no yield, as before.
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
    chars += rowChars(page[i] as Row);
    if (chars < sliceChars || i === page.length - 1) continue;
    await write(masker.maskPage(page.slice(start, i + 1)));
    start = i + 1;
    chars = 0;
    await nextTurn();
  }
  if (start < page.length) await write(masker.maskPage(start === 0 ? page : page.slice(start)));
}
