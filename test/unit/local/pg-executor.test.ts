// The server executor (node-postgres against apt's PostgreSQL): pages in order with one read ahead, row caps at
// and off page boundaries, and a sink failure that leaves no transaction or cursor behind on the connection.

import { connect, createServer, type Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { END_BACKEND_MS, PgExecutor } from "#infra/local/adapters/pg-executor.ts";
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

/**
 * A TCP relay to the server whose connections can be cut off in both directions at once, as a network partition or
 * a stopped server would: nothing more passes either way, and a side that closes is not told to the other.
 */
async function partitionableRelay(
  target: string,
): Promise<{ url: string; partition(newOnes?: "refuse" | "hang"): void; close(): void }> {
  const url = new URL(target);
  const [host, port] = [url.hostname, Number(url.port)];
  const pairs: { client: Socket; upstream: Socket; cut: boolean }[] = [];
  let newOnes: "refuse" | "hang" | undefined;
  const held: Socket[] = [];
  const relay = createServer((client) => {
    if (newOnes === "refuse") {
      client.destroy();
      return;
    }
    if (newOnes === "hang") {
      // Accepted, and never a byte back: a peer gone silent.
      client.on("error", () => undefined);
      held.push(client);
      return;
    }
    const upstream = connect(port, host);
    const pair = { client, upstream, cut: false };
    pairs.push(pair);
    client.on("data", (data) => void (pair.cut || upstream.write(data)));
    upstream.on("data", (data) => void (pair.cut || client.write(data)));
    client.on("close", () => pair.cut || upstream.destroy());
    upstream.on("close", () => pair.cut || client.destroy());
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  url.hostname = "127.0.0.1";
  url.port = String((relay.address() as { port: number }).port);
  return {
    url: url.toString(),
    partition: (then) => {
      for (const pair of pairs) pair.cut = true;
      newOnes = then;
    },
    close: () => {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      for (const socket of held) socket.destroy();
      relay.close();
    },
  };
}

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
  it("hands back a statement's rows before its connection is reset, and `settled` once nothing of it is left", async () => {
    const observer = new pg.Client({ connectionString: server.url });
    await observer.connect();
    // A pool of two: the next statement would not have to wait for this connection, so only `settled` orders them.
    const wide = new PgExecutor({ connectionString: server.url, logger: silentLogger, poolSize: 2 });
    const held = async (): Promise<number> =>
      (
        await observer.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242",
        )
      ).rows[0]?.n ?? -1;
    try {
      for (let i = 0; i < 20; i++) {
        const summary = await wide.execute(
          {
            sql: "SELECT pg_advisory_lock(4242)::text",
            params: [],
            timeoutMs: 5_000,
            maxRows: 10,
            pageSize: 10,
          },
          { columns: () => undefined, rows: () => undefined },
        );
        expect(summary.settled).toBeInstanceOf(Promise);
        await summary.settled;
        expect(await held(), "a session lock outlived `settled`").toBe(0);
      }
    } finally {
      await wide.close();
      await observer.end();
    }
  });
  it("survives the server ending a statement's backend (an operator's pg_terminate_backend, a failover)", async () => {
    // The forty-fifth outside attack: a checked-out connection had no 'error' listener, so the socket's reset was
    // an unhandled 'error' event and the whole gateway process died.
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const own = new PgExecutor({ connectionString: server.url, logger: silentLogger, poolSize: 2 });
    try {
      const running = own.execute(
        { sql: "SELECT pg_sleep(30)::text", params: [], timeoutMs: 20_000, maxRows: 10, pageSize: 10 },
        { columns: () => undefined, rows: () => undefined },
      );
      running.catch(() => undefined);
      let killed = 0;
      for (let i = 0; i < 100 && killed === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const result = await admin.query<{ n: number }>(
          "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)::text' AND pid <> pg_backend_pid()",
        );
        killed = result.rows[0]?.n ?? 0;
      }
      expect(killed).toBe(1);
      await expect(running).rejects.toBeInstanceOf(Error);
      // The executor still serves statements on fresh connections.
      const rows: Row[] = [];
      await own.execute(
        { sql: "SELECT 'alive'", params: [], timeoutMs: 5_000, maxRows: 10, pageSize: 10 },
        { columns: () => undefined, rows: (page) => void rows.push(...page) },
      );
      expect(rows).toEqual([["alive"]]);
    } finally {
      await own.close();
      await admin.end();
    }
  });
  it("ends the server process of a connection it destroys before it answers (the forty-fifth outside attack)", async () => {
    const observer = new pg.Client({ connectionString: server.url });
    await observer.connect();
    const own = new PgExecutor({ connectionString: server.url, logger: silentLogger, poolSize: 2 });
    const left = async () =>
      (
        await observer.query<{ locks: number; running: number }>(
          `SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 105)::int AS locks,
                  (SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_advisory_lock(105)%' AND pid <> pg_backend_pid())::int AS running`,
        )
      ).rows[0];
    try {
      // The first row takes a session lock and is past the row limit: it is counted when the second row pushes it out
      // of the server's send buffer, and the connection destroyed. The server would then sleep through the last row,
      // holding the lock, with nobody left to read it.
      const sql = `SELECT CASE WHEN g = 1 THEN pg_advisory_lock(105)::text || repeat('x', ${MAX_ROW_CHARS + 1}) WHEN g = 2 THEN repeat('y', 100000) ELSE pg_sleep(5)::text END FROM generate_series(1, 3) g`;
      const error = await own
        .execute(
          { sql, params: [], timeoutMs: 20_000, maxRows: 10, pageSize: 10 },
          { columns: () => undefined, rows: () => undefined },
        )
        .catch((e: unknown) => e);
      expect((error as QueryFailedError).code).toBe("row_too_large");
      expect(await left()).toEqual({ locks: 0, running: 0 });
    } finally {
      await own.close();
      await observer.end();
    }
  });
  it("does not answer a statement whose reset never ends until its server process is gone", async () => {
    // The forty-fifth outside attack stopped the server process during the reset: the watchdog destroyed the
    // connection, the statement was answered, and its session lock outlived the answer.
    const relay = await partitionableRelay(server.url);
    const observer = new pg.Client({ connectionString: server.url });
    await observer.connect();
    const own = new PgExecutor({ connectionString: relay.url, logger: silentLogger, poolSize: 1 });
    try {
      const summary = await own.execute(
        { sql: "SELECT pg_advisory_lock(4243)::text", params: [], timeoutMs: 500, maxRows: 10, pageSize: 10 },
        { columns: () => undefined, rows: () => undefined },
      );
      // Before the reset's first message reaches the server: it never will.
      relay.partition();
      await summary.settled;
      const held = await observer.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 4243",
      );
      expect(held.rows[0]?.n, "the session lock outlived `settled`").toBe(0);
    } finally {
      await own.close().catch(() => undefined);
      relay.close();
      await observer.query(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4243",
      );
      await observer.end();
    }
  });
  it.each(["refuse", "hang"] as const)(
    "fails a statement closed when its server process cannot be ended (new connections %s): `settled` rejects in time",
    async (newOnes) => {
      const relay = await partitionableRelay(server.url);
      const observer = new pg.Client({ connectionString: server.url });
      await observer.connect();
      const own = new PgExecutor({ connectionString: relay.url, logger: silentLogger, poolSize: 1 });
      try {
        const summary = await own.execute(
          {
            sql: "SELECT pg_advisory_lock(4244)::text",
            params: [],
            timeoutMs: 500,
            maxRows: 10,
            pageSize: 10,
          },
          { columns: () => undefined, rows: () => undefined },
        );
        // The server cannot be reached at all now, so nothing can say the statement's session is gone.
        relay.partition(newOnes);
        const started = performance.now();
        await expect(summary.settled).rejects.toBeInstanceOf(UnavailableError);
        // Within the answer's bound past the watchdog (500 + 2,000 ms), however the server fails to answer.
        expect(performance.now() - started).toBeLessThan(2_500 + END_BACKEND_MS + 1_500);
      } finally {
        await own.close().catch(() => undefined);
        relay.close();
        await observer.query(
          "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4244",
        );
        await observer.end();
      }
    },
  );
  it("holds a cut connection's place in the pool until its server process is gone (the forty-sixth outside attack)", async () => {
    // A long numeric computation takes a termination only between steps: its process outlived the answer, and its
    // connection went back to the pool at once, so the pool opened another beside it (one caller filled
    // max_connections with such processes). The answer still fails closed after END_BACKEND_MS, but the pool keeps
    // counting the connection until its process is gone.
    const observer = new pg.Client({ connectionString: server.url });
    await observer.connect();
    // Silence for 200 ms would give the connection back; a process the server still lists must keep it anyway (the
    // forty-seventh outside attack: one given back after a fixed two minutes ran on for 40 s beside its caller's cap).
    const own = new PgExecutor({
      connectionString: server.url,
      logger: silentLogger,
      poolSize: 1,
      endBackendGiveUpMs: 200,
    });
    const numbers =
      "WITH s AS MATERIALIZED (SELECT repeat('7', 131000)::numeric a, repeat('3', 65000)::numeric b)";
    try {
      const started = performance.now();
      await observer.query(`${numbers} SELECT div(a, b + 1) IS NULL FROM s`);
      const oneDiv = Math.max(1, performance.now() - started);
      const steps = Math.min(80, Math.max(2, Math.ceil((END_BACKEND_MS + 2_000) / oneDiv)));
      const slow = Array.from({ length: steps }, (_, i) => `div(a, b + ${i + 1}) IS NULL`).join(" OR ");
      const sql = `${numbers} SELECT CASE WHEN n = 1 THEN repeat('x', ${MAX_ROW_CHARS + 1}) WHEN n = 2 THEN repeat('y', 100000) ELSE (${slow})::text END FROM s, generate_series(1, 3) n`;
      const error = await own
        .execute(
          { sql, params: [], timeoutMs: 60_000, maxRows: 10, pageSize: 10 },
          { columns: () => undefined, rows: () => undefined },
        )
        .catch((e: unknown) => e);
      const orphans = async () =>
        (
          await observer.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE '%div(a, b + 1)%' AND pid <> pg_backend_pid()",
          )
        ).rows.length;
      // Answered before the process ended (it fails closed), or after (its own error): either way, the next
      // statement on this one-connection pool runs only once no such process is left.
      if (error instanceof UnavailableError) expect(await orphans()).toBe(1);
      else expect((error as QueryFailedError).code).toBe("row_too_large");
      const rows: Row[] = [];
      await own.execute(
        { sql: "SELECT 'next'", params: [], timeoutMs: 60_000, maxRows: 10, pageSize: 10 },
        { columns: () => undefined, rows: (page) => void rows.push(...page) },
      );
      expect(rows).toEqual([["next"]]);
      expect(await orphans(), "the pool ran the next statement beside the cut connection's process").toBe(0);
    } finally {
      await own.close();
      await observer.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%div(a, b + 1)%' AND pid <> pg_backend_pid()",
      );
      await observer.end();
    }
  }, 120_000);
});
