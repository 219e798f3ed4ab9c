// How many rows an executor asks the database for next, and how large a row or a page it takes: pages bounded by
// their text, not only by their row count.

import { setImmediate as nextTurn } from "node:timers/promises";
import { QueryFailedError } from "#shared/errors.ts";
import { decodesToStructure } from "#shared/sql/values.ts";

/**
 * Rows asked for by a statement's first read, before anything is known of how wide its rows are: enough that most
 * interactive reads (`LIMIT 100` and under) end in one round trip, few enough that a first page of very wide rows
 * stays a bounded amount of memory (128 rows of 1 MB each is 128 MB; 1,000 of them was a gigabyte).
 */
export const FIRST_PAGE_ROWS = 128;

/**
 * Characters of text one page aims at once the rows' width is known. A page is held twice at most while it is
 * masked (the page read ahead and the one being masked), and its masked copy and JSON text besides, so this is
 * what bounds a statement's memory on the gateway whatever its rows carry (the thirtieth outside attack made
 * 1,000-row pages of 130 kB rows).
 */
export const PAGE_TEXT_CHARS = 1024 * 1024;

/**
 * How much a character of a structured value (json, jsonb, an array) counts: decoded, `{},` is 3 characters of text
 * and ~60 bytes of heap (the thirty-first outside attack crashed the gateway's heap with 80 rows of such JSON).
 */
export const STRUCTURED_WEIGHT = 8;

/**
 * The most (weighted) characters one page may carry: beyond, the statement fails with `page_too_large`. Pages are
 * sized to {@link PAGE_TEXT_CHARS} from the page before, and a first page of rows within {@link MAX_ROW_CHARS} stays
 * within this; only rows suddenly far wider than those before them (a page of 1,000 rows of 64 k characters after
 * narrow ones) reach it, and it bounds what such a page takes.
 */
export const MAX_PAGE_CHARS = 64 * 1024 * 1024;

/**
 * The most (weighted) characters one row may carry: beyond, the statement fails with `row_too_large`. A row is
 * decoded and masked in one piece, so this bounds how long one row can hold the event loop and what its masked copy
 * takes on the heap: the detectors spend ~1.3 µs per span they mask, and text dense with PHI-shaped spans made a
 * 4 Mi-character row hold the loop over a second (the thirty-second outside attack); a 144 MB cell held it 21 s. It
 * is the page limit over the first read's rows, so a first page, read before anything is known of its rows' width,
 * never passes the page limit (the thirty-third attack: 128 rows of 600 k characters each did).
 */
export const MAX_ROW_CHARS = MAX_PAGE_CHARS / FIRST_PAGE_ROWS;

/**
 * What each value counts besides its text, `null` and the empty string too: decoding, masking and serializing
 * cost per value, and 1,600 columns of empty strings made pages of 1.6 million values that counted nothing.
 */
export const VALUE_CHARS = 16;

/** Each column's weight: {@link STRUCTURED_WEIGHT} for structured types, 1 for the rest. */
export function columnWeights(oids: readonly number[]): number[] {
  return oids.map((oid) => (decodesToStructure(oid) ? STRUCTURED_WEIGHT : 1));
}

/** A row's weighted characters: each value as the database sent it, as text, plus {@link VALUE_CHARS}. */
export function rowChars(row: readonly (string | null)[], weights: readonly number[]): number {
  let chars = row.length * VALUE_CHARS;
  for (let i = 0; i < row.length; i++) {
    const value = row[i];
    if (value !== null && value !== undefined) chars += value.length * (weights[i] ?? 1);
  }
  return chars;
}

/** A page's weighted characters. */
export function pageTextChars(
  rows: readonly (readonly (string | null)[])[],
  weights: readonly number[],
): number {
  let chars = 0;
  for (const row of rows) chars += rowChars(row, weights);
  return chars;
}

/**
 * Counts the rows of one page as they arrive and says when one passes a limit: {@link MAX_ROW_CHARS} for a row,
 * {@link MAX_PAGE_CHARS} for the page. An executor that sees a row as it is read checks each one (and stops reading
 * at the first error); one that gets the page whole checks it before decoding anything.
 */
export class PageBudget {
  private chars = 0;

  constructor(private readonly weights: readonly number[]) {}

  /** Adds one row; the error to fail the statement with when it passes a limit. */
  add(row: readonly (string | null)[]): QueryFailedError | undefined {
    const chars = rowChars(row, this.weights);
    this.chars += chars;
    if (chars > MAX_ROW_CHARS)
      return new QueryFailedError(
        "row_too_large",
        `a result row is larger than the gateway takes (${MAX_ROW_CHARS / 1024} Ki characters, structured values counting ${STRUCTURED_WEIGHT} per character)`,
      );
    if (this.chars > MAX_PAGE_CHARS)
      return new QueryFailedError(
        "page_too_large",
        `the result's rows grew wider faster than the gateway could size its reads: a page of them passed ${MAX_PAGE_CHARS / 1024 / 1024} Mi characters`,
      );
    return undefined;
  }

  /** The page's weighted characters so far; the count starts again for the next page. */
  next(): number {
    const chars = this.chars;
    this.chars = 0;
    return chars;
  }

  /** Adds a whole page: the first error, or none ({@link next} then gives its characters). */
  addPage(rows: readonly (readonly (string | null)[])[]): QueryFailedError | undefined {
    for (const row of rows) {
      const error = this.add(row);
      if (error !== undefined) return error;
    }
    return undefined;
  }
}

/** The first read's row count: at most `pageSize`, at most {@link FIRST_PAGE_ROWS}. */
export function firstPageRows(pageSize: number): number {
  return Math.max(1, Math.min(pageSize, FIRST_PAGE_ROWS));
}

/**
 * The next read's row count from the page just read (`rows` rows of `chars` characters): as many rows of that
 * average width as fit in {@link PAGE_TEXT_CHARS}, at least one and at most `pageSize`. An empty page, or one of
 * rows with no text at all, gives `pageSize`.
 */
export function nextPageRows(pageSize: number, rows: number, chars: number): number {
  const most = Math.max(1, pageSize);
  if (rows <= 0 || chars <= 0) return most;
  return Math.max(1, Math.min(most, Math.floor((PAGE_TEXT_CHARS * rows) / chars)));
}

/**
 * A page cut into runs of rows of about {@link PAGE_TEXT_CHARS} weighted characters each (a row is never split), for
 * an executor to decode and hand on one run at a time with the event loop running between them; a page within
 * that size (`chars`, its weighted characters) is one run, itself.
 */
export function pageRuns<T extends readonly (string | null)[]>(
  page: T[],
  chars: number,
  weights: readonly number[],
): T[][] {
  if (chars <= PAGE_TEXT_CHARS) return [page];
  const runs: T[][] = [];
  let start = 0;
  let size = 0;
  for (let i = 0; i < page.length; i++) {
    const row = page[i] as T;
    const rowSize = rowChars(row, weights);
    if (i > start && size + rowSize > PAGE_TEXT_CHARS) {
      runs.push(page.slice(start, i));
      start = i;
      size = 0;
    }
    size += rowSize;
  }
  runs.push(page.slice(start));
  return runs;
}

/** Hands each run on in order, letting the event loop run between runs (a single run is handed on at once). */
export async function handOnInRuns<T>(
  runs: readonly T[],
  handOn: (run: T) => void | Promise<void>,
): Promise<void> {
  for (let i = 0; i < runs.length; i++) {
    if (i > 0) await nextTurn();
    await handOn(runs[i] as T);
  }
}
