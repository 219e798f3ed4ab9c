// The embedded executor: read-only for real, row caps, paging, value decoding, and a timeout that really stops a statement.

import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgliteExecutor } from "#infra/local/adapters/pglite-executor.ts";
import { QueryFailedError, RateLimitedError } from "#shared/errors.ts";
import { silentLogger } from "#shared/log.ts";
import type { ExecuteRequest } from "#shared/ports.ts";
import { MAX_ROW_CHARS } from "#shared/sql/page-sizing.ts";
import type { ResultColumn, Row } from "#shared/sql/types.ts";
import { expectTextSizedPages } from "#test/support/text-sized-pages.ts";

async function collect(executor: PgliteExecutor, request: Partial<ExecuteRequest> & { sql: string }) {
  let columns: readonly ResultColumn[] = [];
  const pages: Row[][] = [];
  const summary = await executor.execute(
    { params: [], timeoutMs: 5_000, maxRows: 1_000, pageSize: 100, ...request },
    {
      columns: (c) => {
        columns = c;
      },
      rows: (p) => void pages.push([...p]),
    },
  );
  return { columns, pages, rows: pages.flat(), summary };
}

describe("PgliteExecutor", () => {
  let dir: string;
  let executor: PgliteExecutor;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-pglite-"));
    executor = await PgliteExecutor.start({
      dataDir: join(dir, "pgdata"),
      logger: silentLogger,
      maxQueuedPerCaller: 2,
      fairSliceMs: 1_000,
    });
    await executor.admin(
      "CREATE TABLE t (id int PRIMARY KEY, name text, born date, at timestamptz, big int8, amount numeric, ok bool, tags text[], doc jsonb, raw bytea, score float8);" +
        "INSERT INTO t SELECT g, 'n' || g, date '2000-01-01' + g, timestamptz '2024-01-02 03:04:05.5+00' + g * interval '1 hour', 9007199254740993 + g, g * 1.25, g % 2 = 0, ARRAY['a', NULL, 'c d'], jsonb_build_object('k', g), '\\x0102', g / 3.0 FROM generate_series(1, 250) g;",
    );
  });

  afterAll(async () => {
    await executor.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps its data folder to the owner (0700), which PGlite itself would not", async () => {
    expect((await stat(join(dir, "pgdata"))).mode & 0o777).toBe(0o700);
  });

  it("opens with 32 MB of shared buffers, not initdb's 128 MB: zeroing them was most of a reopen", async () => {
    const { rows } = await collect(executor, { sql: "SELECT current_setting('shared_buffers')" });
    expect(rows).toEqual([["32MB"]]);
  });

  it("decodes every value type into JSON shapes and reports column types", async () => {
    const { columns, rows } = await collect(executor, { sql: "SELECT * FROM t WHERE id = $1", params: [1] });
    expect(columns.map((c) => c.type)).toEqual([
      "int4",
      "text",
      "date",
      "timestamptz",
      "int8",
      "numeric",
      "bool",
      "_text",
      "jsonb",
      "bytea",
      "float8",
    ]);
    expect(rows).toEqual([
      [
        1,
        "n1",
        "2000-01-02",
        "2024-01-02T04:04:05.5Z",
        "9007199254740994",
        "1.25",
        false,
        ["a", null, "c d"],
        { k: 1 },
        "\\x0102",
        0.3333333333333333,
      ],
    ]);
  });

  it("pages results and caps rows, reporting truncation", async () => {
    const all = await collect(executor, { sql: "SELECT id FROM t ORDER BY id", pageSize: 100 });
    expect(all.pages.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(all.summary).toMatchObject({ rowCount: 250, truncated: false });
    const capped = await collect(executor, {
      sql: "SELECT id FROM t ORDER BY id",
      maxRows: 120,
      pageSize: 50,
    });
    expect(capped.rows).toHaveLength(120);
    expect(capped.summary).toMatchObject({ rowCount: 120, truncated: true });
    const exact = await collect(executor, { sql: "SELECT id FROM t ORDER BY id", maxRows: 250 });
    expect(exact.summary).toMatchObject({ rowCount: 250, truncated: false });
  });

  it("sizes pages by their text: narrow rows fill pages, wide rows make small ones", async () => {
    await expectTextSizedPages((request) => collect(executor, request));
  });

  it("fails a row or a page past its limit before decoding it, then serves the next statement", async () => {
    const cases: [string, string][] = [
      [`SELECT repeat('x', ${MAX_ROW_CHARS + 1})`, "row_too_large"],
      [
        "SELECT g, CASE WHEN g > 128 THEN repeat('x', 100000) END FROM generate_series(1, 1128) g",
        "page_too_large",
      ],
    ];
    for (const [sql, code] of cases) {
      const error = await collect(executor, {
        sql,
        pageSize: 1_000,
        maxRows: 5_000,
        timeoutMs: 30_000,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QueryFailedError);
      expect((error as QueryFailedError).code).toBe(code);
    }
    expect((await collect(executor, { sql: "SELECT 1 AS one" })).rows).toEqual([[1]]);
  }, 60_000);

  describe("a statement whose result fails on the main thread", () => {
    // Counts the worker's opens: each one after the first is a restart, which the next caller would wait for.
    const opens: string[] = [];
    /** How each worker came by PGlite's WebAssembly, in the order they opened. */
    const modules: unknown[] = [];
    const warnings: string[] = [];
    const drainBounds: number[] = [];
    const logger = {
      ...silentLogger,
      info: (message: string, fields?: Record<string, unknown>) => {
        opens.push(message);
        if (message === "embedded database ready") modules.push(fields?.wasm);
      },
      warn: (message: string, fields?: Record<string, unknown>) => {
        warnings.push(message);
        if (typeof fields?.drainMs === "number") drainBounds.push(fields.drainMs);
      },
    };
    let own: PgliteExecutor;
    beforeAll(async () => {
      await mkdir(join(dir, "pgdata-cancel", "base", "pgsql_tmp"), { recursive: true });
      // What a statement stopped mid-spill leaves behind; the next open must clear it.
      await writeFile(join(dir, "pgdata-cancel", "base", "pgsql_tmp", "pgsql_tmp42.0"), "spilled");
      own = await PgliteExecutor.start({ dataDir: join(dir, "pgdata-cancel"), logger });
    });
    afterAll(async () => {
      await own.close();
    });

    it("clears temporary files a stopped statement left when the database opens", async () => {
      expect(await readdir(join(dir, "pgdata-cancel", "base", "pgsql_tmp"))).toEqual([]);
    });

    it("ends it on the worker, which keeps running: no restart for the next caller to wait for", async () => {
      const before = opens.filter((m) => m === "embedded database ready").length;
      const cases: [string, string][] = [
        [`SELECT repeat('x', ${MAX_ROW_CHARS + 1})`, "row_too_large"],
        // Failed on a later page, while the worker is reading ahead.
        [
          "SELECT (CASE WHEN g = 3000 THEN '1e400' ELSE '1' END)::json FROM generate_series(1, 100000) g",
          "value_not_representable",
        ],
      ];
      for (const [sql, code] of cases) {
        const error = await collect(own, { sql, pageSize: 1_000, maxRows: 200_000, timeoutMs: 30_000 }).catch(
          (e: unknown) => e,
        );
        expect((error as QueryFailedError).code).toBe(code);
        expect(
          (await collect(own, { sql: "SELECT count(*)::int FROM generate_series(1, 10)" })).rows,
        ).toEqual([[10]]);
      }
      expect(opens.filter((m) => m === "embedded database ready").length).toBe(before);
      expect(warnings).toEqual([]);
    }, 60_000);

    it("restarts the worker when the statement does not end within its drain bound, and answers the real error", async () => {
      const before = opens.filter((m) => m === "embedded database ready").length;
      // The first page arrives at once; the next one sleeps, so the worker cannot see the cancel for 20 s.
      const error = await own
        .execute(
          {
            sql: "SELECT g, CASE WHEN g > 128 THEN pg_sleep(20) END FROM generate_series(1, 1000) g",
            params: [],
            timeoutMs: 60_000,
            maxRows: 5_000,
            pageSize: 1_000,
          },
          {
            columns: () => undefined,
            rows: () => {
              throw new QueryFailedError("value_not_representable", "the sink refused the page");
            },
          },
        )
        .catch((e: unknown) => e);
      expect((error as QueryFailedError).message).toBe("the sink refused the page");
      expect(warnings).toEqual(["a failed statement did not end in time; restarting the database worker"]);
      expect((await collect(own, { sql: "SELECT 2 AS two" })).rows).toEqual([[2]]);
      expect(opens.filter((m) => m === "embedded database ready").length).toBe(before + 1);
    }, 60_000);

    it("hands the worker it restarts PGlite's module as compiled: a reopen compiles nothing again", async () => {
      const error = await collect(own, { sql: "SELECT pg_sleep(10)", timeoutMs: 300 }).catch(
        (e: unknown) => e,
      );
      expect((error as QueryFailedError).code).toBe("statement_timeout");
      expect((await collect(own, { sql: "SELECT 4 AS four" })).rows).toEqual([[4]]);
      // The first worker compiled it; every one opened after a stop was given it.
      expect(modules[0]).toBe("compiled");
      expect(modules.length).toBeGreaterThan(1);
      expect(modules.slice(1).every((how) => how === "given")).toBe(true);
    }, 60_000);

    it("never drains past the statement's deadline (the fortieth outside attack: up to 1 s after it)", async () => {
      warnings.length = 0;
      drainBounds.length = 0;
      const timeoutMs = 1_500;
      // The sink fails 100 ms before the deadline, at the earliest; the page fetched ahead sleeps 20 s.
      const error = await own
        .execute(
          {
            sql: "SELECT g, CASE WHEN g > 128 THEN pg_sleep(20) END FROM generate_series(1, 1000) g",
            params: [],
            timeoutMs,
            maxRows: 5_000,
            pageSize: 1_000,
          },
          {
            columns: () => undefined,
            rows: async () => {
              await new Promise((resolve) => setTimeout(resolve, timeoutMs - 100));
              throw new QueryFailedError("value_not_representable", "the sink refused the page");
            },
          },
        )
        .catch((e: unknown) => e);
      // On a loaded machine the deadline may come first (a timeout); either way the worker never runs past it.
      if ((error as QueryFailedError).code === "statement_timeout") {
        expect(warnings).toEqual(["statement exceeded its timeout; restarting the database worker"]);
      } else {
        expect((error as QueryFailedError).message).toBe("the sink refused the page");
        expect(warnings).toEqual(["a failed statement did not end in time; restarting the database worker"]);
        expect(drainBounds[0]).toBeLessThan(100);
      }
      expect((await collect(own, { sql: "SELECT 3 AS three" })).rows).toEqual([[3]]);
    }, 60_000);
  });

  it("runs statements read-only whatever they are", async () => {
    const error = await collect(executor, { sql: "SELECT id FROM t FOR UPDATE" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect((error as QueryFailedError).code).toBe("read_only_violation");
  });

  it("never passes PostgreSQL's message on (it can echo data)", async () => {
    const error = (await collect(executor, { sql: "SELECT name::int FROM t" }).catch(
      (e: unknown) => e,
    )) as QueryFailedError;
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(error.message).not.toContain("n1");
    expect(error.message).toContain("22P02");
  });

  it("stops a statement at its timeout without blocking the event loop, then recovers", async () => {
    let settled = false;
    const statement = collect(executor, { sql: "SELECT pg_sleep(10)", timeoutMs: 400 }).finally(() => {
      settled = true;
    });
    // The main thread is free while the worker runs the statement: a callback queued after it started
    // runs before it settles. Had the statement run on this thread, it would settle first.
    const ranWhileInFlight = new Promise<boolean>((resolve) => setImmediate(() => resolve(!settled)));
    const error = await statement.catch((e: unknown) => e);
    expect(await ranWhileInFlight).toBe(true);
    expect(error).toBeInstanceOf(QueryFailedError);
    expect((error as QueryFailedError).code).toBe("statement_timeout");
    const after = await collect(executor, { sql: "SELECT count(*)::int FROM t" });
    expect(after.rows).toEqual([[250]]);
  });

  it("lets a statement stopped at its deadline restart only its own worker, never its successor's", async () => {
    // A stopped statement's pages are still being handed on when its successor starts on a fresh worker; a late
    // failure of those pages (its result writer is gone) restarted whatever worker was current: the successor's
    // (503 "the database worker stopped", under load in the non-interference test).
    let opened: () => void = () => undefined;
    const logger = {
      ...silentLogger,
      info: (message: string) => {
        if (message === "embedded database ready") opened();
      },
    };
    const own = await PgliteExecutor.start({ dataDir: join(dir, "pgdata-late"), logger });
    // The next "ready" is the fresh worker's, after the stop.
    const reopened = new Promise<void>((resolve) => (opened = resolve));
    try {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const stopped = await own
        .execute(
          {
            sql: "SELECT g FROM generate_series(1, 5000) g",
            params: [],
            timeoutMs: 300,
            maxRows: 10_000,
            pageSize: 100,
          },
          {
            columns: () => undefined,
            rows: async () => {
              await gate;
              throw new Error("the result was abandoned");
            },
          },
        )
        .catch((e: unknown) => e);
      expect((stopped as QueryFailedError).code).toBe("statement_timeout");
      const successor = collect(own, { sql: "SELECT 7 FROM pg_sleep(1.5)" });
      await reopened;
      release();
      expect((await successor).rows).toEqual([[7]]);
    } finally {
      await own.close();
    }
  });

  it("serves callers in turn: a caller's queue is capped, and a statement holding the worker yields to another caller's", async () => {
    const heavy = (i: number) =>
      collect(executor, { sql: "SELECT pg_sleep(3)", timeoutMs: 30_000, caller: "a" }).then(
        () => `a${i} done`,
        (e: unknown) => e,
      );
    const first = heavy(0);
    const queued = [heavy(1), heavy(2)];
    const refused = await collect(executor, { sql: "SELECT 1", caller: "a" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).details?.retryAfterSeconds).toBeGreaterThan(0);
    const light = await collect(executor, { sql: "SELECT count(*)::int FROM t", caller: "b" });
    expect(light.rows).toEqual([[250]]);
    const displaced = await first;
    expect(displaced).toBeInstanceOf(RateLimitedError);
    expect((displaced as RateLimitedError).message).toMatch(/another caller/);
    // With no other caller waiting, the rest of caller a's run to the end.
    expect(await Promise.all(queued)).toEqual(["a1 done", "a2 done"]);
  });

  it("answers a statement that waited past its queue bound 429 with when to retry, not a 5xx", async () => {
    // Busy is not down: a 503 told clients (and the non-interference test, under load) the database had failed.
    const busy = await PgliteExecutor.start({
      dataDir: join(dir, "pgdata-busy"),
      logger: silentLogger,
      queueTimeoutMs: 300,
      fairSliceMs: 60_000,
    });
    try {
      const holding = collect(busy, { sql: "SELECT pg_sleep(1.5)", timeoutMs: 30_000, caller: "a" });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const waited = await collect(busy, { sql: "SELECT 1", caller: "a" }).catch((e: unknown) => e);
      expect(waited).toBeInstanceOf(RateLimitedError);
      expect((waited as RateLimitedError).status).toBe(429);
      expect((waited as RateLimitedError).details?.retryAfterSeconds).toBe(60);
      await holding;
      expect((await collect(busy, { sql: "SELECT 1" })).rows).toEqual([[1]]);
    } finally {
      await busy.close();
    }
  });

  it("estimates rows with EXPLAIN of the generic plan and reads the catalog", async () => {
    expect(
      await executor.estimateRows({ sql: "SELECT * FROM t WHERE id > $1", types: ["unknown"] }, 5_000),
    ).toBeGreaterThan(0);
    const catalog = await executor.loadCatalog();
    const t = catalog.relations.find((r) => r.table === "t");
    expect(t?.columns.map((c) => c.name)).toEqual([
      "id",
      "name",
      "born",
      "at",
      "big",
      "amount",
      "ok",
      "tags",
      "doc",
      "raw",
      "score",
    ]);
    expect(catalog.searchPath).toContain("public");
  });
});
