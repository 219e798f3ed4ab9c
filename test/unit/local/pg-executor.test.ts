// The server executor (node-postgres against apt's PostgreSQL): pages in order with one read ahead, row caps at
// and off page boundaries, and a sink failure that leaves no transaction or cursor behind on the connection.

import { afterAll, beforeAll, expect, it } from "vitest";
import { PgExecutor } from "#infra/local/adapters/pg-executor.ts";
import { QueryFailedError, UnavailableError } from "#shared/errors.ts";
import { silentLogger } from "#shared/log.ts";
import type { ExecuteRequest } from "#shared/ports.ts";
import { FIRST_PAGE_ROWS, MAX_ROW_CHARS, STRUCTURED_WEIGHT } from "#shared/sql/page-sizing.ts";
import type { Row } from "#shared/sql/types.ts";
import { SESSION_SETTINGS } from "#shared/sql/values.ts";
import {
  describeWithPostgres,
  type PostgresServer,
  startPostgresServer,
} from "#test/support/postgres-server.ts";
import { expectTextSizedPages } from "#test/support/text-sized-pages.ts";

describeWithPostgres("PgExecutor", () => {
  let server: PostgresServer;
  let executor: PgExecutor;

  async function collect(request: Partial<ExecuteRequest>, onPage?: (index: number) => Promise<void>) {
    const pages: Row[][] = [];
    const summary = await executor.execute(
      {
        sql: "SELECT g FROM generate_series(1, 250) g ORDER BY g",
        params: [],
        timeoutMs: 5_000,
        maxRows: 1_000,
        pageSize: 100,
        ...request,
      },
      {
        columns: () => undefined,
        rows: async (page) => {
          pages.push([...page]);
          await onPage?.(pages.length);
        },
      },
    );
    return { pages, rows: pages.flat().map((r) => r[0]), summary };
  }

  beforeAll(async () => {
    server = await startPostgresServer({ database: "exec" });
    // One connection: whatever a statement leaves behind on it, the next statement meets.
    executor = new PgExecutor({ connectionString: server.url, logger: silentLogger, poolSize: 1 });
  });

  afterAll(async () => {
    await executor?.close();
    await server?.stop();
  });

  it("delivers every page in order while the next one is read ahead", async () => {
    const { pages, rows, summary } = await collect({}, () => new Promise((r) => setTimeout(r, 20)));
    expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(rows).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(summary).toMatchObject({ rowCount: 250, truncated: false });
  });

  it("caps rows off a page boundary, on one, and when the result is exactly the cap", async () => {
    const off = await collect({ maxRows: 130 });
    expect(off.pages.map((p) => p.length)).toEqual([100, 30]);
    expect(off.summary).toMatchObject({ rowCount: 130, truncated: true });
    const on = await collect({ maxRows: 200 });
    expect(on.rows).toHaveLength(200);
    expect(on.summary).toMatchObject({ rowCount: 200, truncated: true });
    const exact = await collect({ maxRows: 250 });
    expect(exact.rows).toHaveLength(250);
    expect(exact.summary).toMatchObject({ rowCount: 250, truncated: false });
    const pageExact = await collect({ sql: "SELECT g FROM generate_series(1, 200) g", maxRows: 1_000 });
    expect(pageExact.summary).toMatchObject({ rowCount: 200, truncated: false });
  });

  it("sizes pages by their text: narrow rows fill pages, wide rows make small ones (the thirtieth outside attack)", async () => {
    await expectTextSizedPages(collect);
  });

  it("fails a row or a page past its limit as it arrives, and its connection is replaced (the thirty-first outside attack)", async () => {
    const cases: [string, string][] = [
      [`SELECT repeat('x', ${MAX_ROW_CHARS + 1})`, "row_too_large"],
      [
        `SELECT ('[' || repeat('1,', ${MAX_ROW_CHARS / STRUCTURED_WEIGHT / 2}) || '1]')::json`,
        "row_too_large",
      ],
      [
        "SELECT g, CASE WHEN g > 128 THEN repeat('x', 100000) END FROM generate_series(1, 1128) g",
        "page_too_large",
      ],
    ];
    for (const [sql, code] of cases) {
      const sunk: number[] = [];
      const error = await executor
        .execute(
          { sql, params: [], timeoutMs: 30_000, maxRows: 5_000, pageSize: 1_000 },
          { columns: () => undefined, rows: (page) => void sunk.push(page.length) },
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryFailedError);
      expect((error as QueryFailedError).code).toBe(code);
      // Nothing of the page past the limit reached the sink; the narrow first page did.
      expect(sunk).toEqual(code === "page_too_large" ? [FIRST_PAGE_ROWS] : []);
    }
    const { rows } = await collect({ sql: "SELECT 1" });
    expect(rows).toEqual([1]);
  });

  it("refuses a row or an error message past its bound from the message's header, and replaces the connection (the forty-first outside attack)", async () => {
    const warnings: Record<string, unknown>[] = [];
    const logger = {
      ...silentLogger,
      warn: (_: string, fields?: Record<string, unknown>) => void warnings.push(fields ?? {}),
    };
    const guarded = new PgExecutor({ connectionString: server.url, logger, poolSize: 1 });
    try {
      const run = (sql: string) =>
        guarded
          .execute(
            { sql, params: [], timeoutMs: 30_000, maxRows: 10, pageSize: 100 },
            { columns: () => undefined, rows: () => undefined },
          )
          .catch((e: unknown) => e);
      // Past the row bound in any encoding (a character is at most 3 bytes of UTF-8 per UTF-16 unit).
      const row = await run(`SELECT repeat('x', ${3 * MAX_ROW_CHARS + 64})`);
      expect(row).toBeInstanceOf(QueryFailedError);
      expect((row as QueryFailedError).code).toBe("row_too_large");
      // PostgreSQL quotes the whole value in this error: 2 MB of it.
      const error = await run("SELECT repeat('7', 2000000)::int");
      expect(error).toBeInstanceOf(QueryFailedError);
      expect((error as QueryFailedError).code).toBe("query_failed");
      expect(warnings.map((w) => w.type)).toEqual(["D", "E"]);
      // The rows just within the check (it cannot be sure below its bound) still meet the row limit as they arrive.
      const counted = await run(`SELECT repeat('x', ${MAX_ROW_CHARS + 1})`);
      expect((counted as QueryFailedError).code).toBe("row_too_large");
      expect(warnings).toHaveLength(2);
      const { rows } = await (async () => {
        const got: Row[] = [];
        await guarded.execute(
          { sql: "SELECT 41", params: [], timeoutMs: 5_000, maxRows: 10, pageSize: 100 },
          { columns: () => undefined, rows: (page) => void got.push(...page) },
        );
        return { rows: got };
      })();
      expect(rows).toEqual([[41]]);
    } finally {
      await guarded.close();
    }
  });

  it("decodes and hands on a page of structured values in runs, the event loop running between them", async () => {
    const sizes: number[] = [];
    let turnedBetween = 0;
    let turned = false;
    const summary = await executor.execute(
      {
        sql: "SELECT g, ('[' || repeat('1,', 20000) || '1]')::json FROM generate_series(1, 100) g",
        params: [],
        timeoutMs: 10_000,
        maxRows: 1_000,
        pageSize: 1_000,
      },
      {
        columns: () => undefined,
        rows: (page) => {
          if (sizes.length > 0 && turned) turnedBetween++;
          sizes.push(page.length);
          turned = false;
          setImmediate(() => {
            turned = true;
          });
        },
      },
    );
    expect(summary.rowCount).toBe(100);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
    // 40,001 characters of JSON a row, counting 8 each: a run holds 3 rows of the page of 100.
    expect(sizes.length).toBeGreaterThan(10);
    expect(turnedBetween).toBe(sizes.length - 1);
  });

  it("rejects with the sink's error while a read is in flight, and the connection stays clean", async () => {
    const failure = new UnavailableError("store_unavailable", "the store failed");
    await expect(
      collect({}, async (index) => {
        if (index === 1) throw failure;
      }),
    ).rejects.toBe(failure);
    // The single pooled connection is back outside any transaction, with no portal left open.
    const after = await collect({
      sql: "SELECT count(*)::int FROM pg_cursors WHERE statement NOT LIKE '%pg_cursors%'",
    });
    expect(after.rows).toEqual([0]);
  });

  it("rejects with the statement's own error when a page read ahead fails while the sink is busy (no hang)", async () => {
    // The twenty-ninth outside attack: the error arrived while the sink awaited, the cursor synced by itself, and
    // its close then waited for a ReadyForQuery already consumed; the request hung and kept the caller's slot.
    await expect(
      collect(
        { sql: "SELECT g, 1 / (g - 1501) FROM generate_series(1, 3000) g", pageSize: 1_000, maxRows: 10_000 },
        () => new Promise((r) => setTimeout(r, 50)),
      ),
    ).rejects.toMatchObject({ status: 422, details: { sqlstate: "22012" } });
    const after = await collect({ sql: "SELECT 1" });
    expect(after.rows).toEqual([1]);
  });

  it("answers a timeout once the watchdog fires, whatever the work still awaits, and frees the connection", async () => {
    await expect(collect({ timeoutMs: 100 }, () => new Promise<void>(() => undefined))).rejects.toMatchObject(
      { details: { sqlstate: "57014" } },
    );
    const after = await collect({ sql: "SELECT 2" });
    expect(after.rows).toEqual([2]);
  });

  it("runs every statement read-only", async () => {
    await expect(collect({ sql: "CREATE TABLE nope (id int)" })).rejects.toMatchObject({ status: 422 });
  });

  it("applies every session setting to its connections", async () => {
    const names = SESSION_SETTINGS.map(([name]) => name);
    const { rows } = await collect({
      sql: `SELECT s FROM unnest(ARRAY[${names.map((name) => `current_setting('${name}')`).join(", ")}]) s`,
    });
    expect(rows).toEqual(SESSION_SETTINGS.map(([, value]) => value));
  });
});
