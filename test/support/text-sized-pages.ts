// The page-sizing contract both local executors keep (shared/sql/page-sizing.ts), checked through each one's own
// way of running a statement and collecting the pages its sink received.

import { expect } from "vitest";
import type { ExecuteRequest, ExecuteSummary } from "#shared/ports.ts";
import { FIRST_PAGE_ROWS, PAGE_TEXT_CHARS } from "#shared/sql/page-sizing.ts";
import type { Row } from "#shared/sql/types.ts";

/** Runs one statement; resolves to the pages the sink received, in order, and the summary. */
export type CollectPages = (
  request: Partial<ExecuteRequest> & { sql: string },
) => Promise<{ pages: Row[][]; summary: ExecuteSummary }>;

/** Narrow rows fill pages after a first page of FIRST_PAGE_ROWS; wide rows make pages within the text budget. */
export async function expectTextSizedPages(collect: CollectPages): Promise<void> {
  const limits = { pageSize: 1_000, maxRows: 5_000 };
  const narrow = await collect({ sql: "SELECT g FROM generate_series(1, 2500) g", ...limits });
  expect(narrow.pages.map((p) => p.length)).toEqual([
    FIRST_PAGE_ROWS,
    1_000,
    1_000,
    2_500 - FIRST_PAGE_ROWS - 2_000,
  ]);
  const width = 8_000;
  const wide = await collect({
    sql: `SELECT g, repeat('x', ${width}) FROM generate_series(1, 400) g`,
    ...limits,
  });
  const sizes = wide.pages.map((p) => p.length);
  expect(sizes[0]).toBe(FIRST_PAGE_ROWS);
  for (const size of sizes.slice(1)) expect(size * width).toBeLessThanOrEqual(PAGE_TEXT_CHARS);
  expect(wide.pages.flat().map((r) => r[0])).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  expect(wide.summary).toMatchObject({ rowCount: 400, truncated: false });
}
