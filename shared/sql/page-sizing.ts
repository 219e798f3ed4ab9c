// How many rows an executor asks the database for next: pages bounded by their text, not only by their row count.

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

/** Characters of text in a page of rows as the database sent them (each value as text; `null` counts nothing). */
export function pageTextChars(rows: readonly (readonly (string | null)[])[]): number {
  let chars = 0;
  for (const row of rows) for (const value of row) if (value !== null) chars += value.length;
  return chars;
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
