// The server executor's reset and the end of the connections it cuts (the forty-fifth to forty-seventh outside
// attacks): nothing a statement took outlives its answer, the server ending a backend does not end the gateway, a
// cut connection's server process is ended before the answer (which fails closed when that cannot be confirmed in
// time), and the pool counts a cut connection until its process is gone.

import { connect, createServer, type Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { END_BACKEND_MS, PgExecutor, type PgExecutorOptions } from "#infra/local/adapters/pg-executor.ts";
import { type QueryFailedError, UnavailableError } from "#shared/errors.ts";
import { silentLogger } from "#shared/log.ts";
import type { ExecuteRequest, ExecuteSummary } from "#shared/ports.ts";
import { MAX_ROW_CHARS } from "#shared/sql/page-sizing.ts";
import type { Row } from "#shared/sql/types.ts";
import {
  describeWithPostgres,
  type PostgresServer,
  startPostgresServer,
} from "#test/support/postgres-server.ts";

/**
 * A TCP relay to the server whose connections can be cut off in both directions at once, as a network partition or
 * a stopped server would: nothing more passes either way, and a side that closes is not told to the other. New
 * connections after the cut pass, are refused, or hang (accepted and never answered).
 */
async function partitionableRelay(
  target: string,
): Promise<{ url: string; partition(newOnes?: "refuse" | "hang"): void; close(): void }> {
  const url = new URL(target);
  const [host, port] = [url.hostname, Number(url.port)];
  const pairs: { client: Socket; upstream: Socket; cut: boolean }[] = [];
  const held: Socket[] = [];
  let newOnes: "refuse" | "hang" | undefined;
  const relay = createServer((client) => {
    client.on("error", () => undefined);
    if (newOnes === "refuse") {
      client.destroy();
      return;
    }
    if (newOnes === "hang") {
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

/** A statement's request with the test's defaults. */
function request(sql: string, timeoutMs = 20_000): ExecuteRequest {
  return { sql, params: [], timeoutMs, maxRows: 10, pageSize: 10 };
}

/** Runs a statement and keeps its rows. */
async function rowsOf(executor: PgExecutor, sql: string): Promise<{ rows: Row[]; summary: ExecuteSummary }> {
  const rows: Row[] = [];
  const summary = await executor.execute(request(sql), {
    columns: () => undefined,
    rows: (page) => void rows.push(...page),
  });
  return { rows, summary };
}

describeWithPostgres("the server executor's reset and its cut connections", () => {
  let server: PostgresServer;

  beforeAll(async () => {
    server = await startPostgresServer({ database: "reset" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  /**
   * Runs `use` with an executor of its own (on the server, unless `options` say otherwise) and an observer
   * connection to the server; `cleanup` ends, on the observer, whatever a failed assertion may have left.
   */
  async function withExecutor(
    options: Partial<PgExecutorOptions>,
    use: (own: PgExecutor, observer: pg.Client) => Promise<void>,
    cleanup?: string,
  ): Promise<void> {
    const observer = new pg.Client({ connectionString: server.url });
    await observer.connect();
    const own = new PgExecutor({
      connectionString: server.url,
      logger: silentLogger,
      poolSize: 1,
      ...options,
    });
    try {
      await use(own, observer);
    } finally {
      await own.close().catch(() => undefined);
      if (cleanup !== undefined) await observer.query(cleanup).catch(() => undefined);
      await observer.end();
    }
  }

  /** The same, through a relay the test can partition. */
  async function withRelay(
    use: (
      own: PgExecutor,
      observer: pg.Client,
      relay: Awaited<ReturnType<typeof partitionableRelay>>,
    ) => Promise<void>,
    cleanup: string,
  ): Promise<void> {
    const relay = await partitionableRelay(server.url);
    const observer = new pg.Client({ connectionString: server.url });
    await observer.connect();
    const own = new PgExecutor({ connectionString: relay.url, logger: silentLogger, poolSize: 1 });
    try {
      await use(own, observer, relay);
    } finally {
      await own.close().catch(() => undefined);
      relay.close();
      await observer.query(cleanup).catch(() => undefined);
      await observer.end();
    }
  }

  async function advisoryLocks(observer: pg.Client, key: number): Promise<number> {
    const result = await observer.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1",
      [key],
    );
    return result.rows[0]?.n ?? -1;
  }

  it("hands back a statement's rows before its connection is reset, and `settled` once nothing of it is left", async () => {
    // A pool of two: the next statement would not have to wait for this connection, so only `settled` orders them.
    await withExecutor({ poolSize: 2 }, async (own, observer) => {
      for (let i = 0; i < 20; i++) {
        const { summary } = await rowsOf(own, "SELECT pg_advisory_lock(4242)::text");
        expect(summary.settled).toBeInstanceOf(Promise);
        await summary.settled;
        expect(await advisoryLocks(observer, 4242), "a session lock outlived `settled`").toBe(0);
      }
    });
  });

  it("survives the server ending a statement's backend (an operator's pg_terminate_backend, a failover)", async () => {
    // A checked-out connection had no 'error' listener: the socket's reset was an unhandled 'error' event, and the
    // whole gateway process died.
    await withExecutor({ poolSize: 2 }, async (own, observer) => {
      const running = own.execute(request("SELECT pg_sleep(30)::text"), {
        columns: () => undefined,
        rows: () => undefined,
      });
      running.catch(() => undefined);
      let killed = 0;
      for (let i = 0; i < 100 && killed === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const result = await observer.query<{ n: number }>(
          "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)::text' AND pid <> pg_backend_pid()",
        );
        killed = result.rows[0]?.n ?? 0;
      }
      expect(killed).toBe(1);
      await expect(running).rejects.toBeInstanceOf(Error);
      // The executor still serves statements, on a fresh connection.
      expect((await rowsOf(own, "SELECT 'alive'")).rows).toEqual([["alive"]]);
    });
  });

  it("ends the server process of a connection it cuts before it answers", async () => {
    // The first row takes a session lock and is past the row limit: it is counted when the second row pushes it out
    // of the server's send buffer, and the connection cut. The server would then sleep through the last row,
    // holding the lock, with nobody left to read it.
    const sql = `SELECT CASE WHEN g = 1 THEN pg_advisory_lock(105)::text || repeat('x', ${MAX_ROW_CHARS + 1}) WHEN g = 2 THEN repeat('y', 100000) ELSE pg_sleep(5)::text END FROM generate_series(1, 3) g`;
    await withExecutor({ poolSize: 2 }, async (own, observer) => {
      const error = await own
        .execute(request(sql), { columns: () => undefined, rows: () => undefined })
        .catch((e: unknown) => e);
      expect((error as QueryFailedError).code).toBe("row_too_large");
      const running = await observer.query(
        "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_advisory_lock(105)%' AND pid <> pg_backend_pid()",
      );
      expect({ locks: await advisoryLocks(observer, 105), running: running.rowCount }).toEqual({
        locks: 0,
        running: 0,
      });
    });
  });

  it("does not answer a statement whose reset never ends until its server process is gone", async () => {
    // A server process stopped during the reset: the watchdog cut the connection, the statement was answered, and
    // its session lock outlived the answer.
    await withRelay(async (own, observer, relay) => {
      const summary = await own.execute(request("SELECT pg_advisory_lock(4243)::text", 500), {
        columns: () => undefined,
        rows: () => undefined,
      });
      // Before the reset's first message reaches the server: it never will.
      relay.partition();
      await summary.settled;
      expect(await advisoryLocks(observer, 4243), "the session lock outlived `settled`").toBe(0);
    }, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4243");
  });

  it.each(["refuse", "hang"] as const)(
    "fails a statement closed when its server process cannot be ended (new connections %s): `settled` rejects in time",
    async (newOnes) => {
      await withRelay(async (own, _observer, relay) => {
        const summary = await own.execute(request("SELECT pg_advisory_lock(4244)::text", 500), {
          columns: () => undefined,
          rows: () => undefined,
        });
        // The server cannot be reached at all now, so nothing can say the statement's session is gone.
        relay.partition(newOnes);
        const started = performance.now();
        await expect(summary.settled).rejects.toBeInstanceOf(UnavailableError);
        // Within the answer's bound past the watchdog (500 + 2,000 ms), however the server fails to answer.
        expect(performance.now() - started).toBeLessThan(2_500 + END_BACKEND_MS + 1_500);
      }, "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4244");
    },
  );

  it("holds a cut connection's place in the pool for as long as the server lists its process", async () => {
    // A long numeric computation takes a termination only between its steps. Its connection went back to the pool
    // at once, and the pool opened another beside it (one caller filled max_connections: the forty-sixth attack);
    // then it went back after a fixed two minutes (the forty-seventh). The answer still fails closed after
    // END_BACKEND_MS, but the pool counts the connection until its process is gone, however long: 200 ms of silence
    // from the server would give it back, and the server is never silent here.
    const numbers =
      "WITH s AS MATERIALIZED (SELECT repeat('7', 131000)::numeric a, repeat('3', 65000)::numeric b)";
    const orphans =
      "SELECT pid FROM pg_stat_activity WHERE query LIKE '%div(a, b + 1)%' AND pid <> pg_backend_pid()";
    await withExecutor(
      { poolSize: 1, endBackendGiveUpMs: 200 },
      async (own, observer) => {
        const started = performance.now();
        await observer.query(`${numbers} SELECT div(a, b + 1) IS NULL FROM s`);
        const oneDiv = Math.max(1, performance.now() - started);
        const steps = Math.min(80, Math.max(2, Math.ceil((END_BACKEND_MS + 2_000) / oneDiv)));
        const slow = Array.from({ length: steps }, (_, i) => `div(a, b + ${i + 1}) IS NULL`).join(" OR ");
        const sql = `${numbers} SELECT CASE WHEN n = 1 THEN repeat('x', ${MAX_ROW_CHARS + 1}) WHEN n = 2 THEN repeat('y', 100000) ELSE (${slow})::text END FROM s, generate_series(1, 3) n`;
        const error = await own
          .execute(request(sql, 60_000), { columns: () => undefined, rows: () => undefined })
          .catch((e: unknown) => e);
        // Answered before the process ended (it fails closed), or after (its own error): either way, the next
        // statement on this one-connection pool runs only once no such process is left.
        if (error instanceof UnavailableError) expect((await observer.query(orphans)).rowCount).toBe(1);
        else expect((error as QueryFailedError).code).toBe("row_too_large");
        expect((await rowsOf(own, "SELECT 'next'")).rows).toEqual([["next"]]);
        expect(
          (await observer.query(orphans)).rowCount,
          "the pool ran the next statement beside the cut connection's process",
        ).toBe(0);
      },
      orphans.replace("SELECT pid", "SELECT pg_terminate_backend(pid)"),
    );
  }, 120_000);
});
