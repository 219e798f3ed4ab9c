// The server executor's per-caller connection cap: one caller's blocked statements cannot hold the whole pool, so another caller's planner estimate still gets a connection.

import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PgExecutor } from "#infra/local/adapters/pg-executor.ts";
import { RateLimitedError } from "#shared/errors.ts";
import { silentLogger } from "#shared/log.ts";
import type { ExecuteRequest } from "#shared/ports.ts";
import {
  describeWithPostgres,
  type PostgresServer,
  startPostgresServer,
} from "#test/support/postgres-server.ts";

describeWithPostgres("PgExecutor per-caller connections", () => {
  let server: PostgresServer;
  let executor: PgExecutor;
  let holder: pg.Client;

  beforeAll(async () => {
    server = await startPostgresServer({ database: "callers" });
    executor = new PgExecutor({ connectionString: server.url, logger: silentLogger, poolSize: 2 });
    holder = new pg.Client(server.url);
    await holder.connect();
  });

  afterAll(async () => {
    await holder?.end();
    await executor?.close();
    await server?.stop();
  });

  it("keeps a connection for another caller's estimate while one caller's statements wait on a lock", async () => {
    await holder.query("SELECT pg_advisory_lock(42)");
    const blocked = [0, 1].map(() =>
      executor.execute(
        {
          sql: "SELECT pg_advisory_xact_lock_shared(42)::text",
          params: [],
          timeoutMs: 30_000,
          maxRows: 10,
          pageSize: 10,
          caller: "attacker",
        },
        { columns: () => undefined, rows: () => undefined },
      ),
    );
    // The other caller's estimate is answered while the lock is still held (a pool of two, one per caller).
    const rows = await executor.estimateRows({ sql: "SELECT 1", types: [] }, 5_000, "other");
    expect(rows).toBe(1);
    await holder.query("SELECT pg_advisory_unlock(42)");
    const done = await Promise.all(blocked);
    expect(done.map((d) => d.rowCount)).toEqual([1, 1]);
  }, 60_000);

  it("keeps the pool's last free connection for a caller holding none (the forty-first outside attack)", async () => {
    const shared = new PgExecutor({ connectionString: server.url, logger: silentLogger, poolSize: 4 });
    const run = (sql: string, caller: string) =>
      shared.execute(
        { sql, params: [], timeoutMs: 30_000, maxRows: 10, pageSize: 10, caller } satisfies ExecuteRequest,
        { columns: () => undefined, rows: () => undefined },
      );
    const started: string[] = [];
    const lockedBy = (caller: string, n: number) =>
      run(`SELECT pg_advisory_xact_lock_shared(44)::text, '${caller}${n}'`, caller).then((r) => {
        started.push(`${caller}${n}`);
        return r;
      });
    try {
      await holder.query("SELECT pg_advisory_lock(44)");
      // Two callers at their caps (two each of a pool of four) would hold it all; the second's second waits.
      const blocked = [lockedBy("a", 1), lockedBy("a", 2), lockedBy("b", 1), lockedBy("b", 2)];
      await new Promise((r) => setTimeout(r, 300));
      const newcomer = await run("SELECT 1", "c");
      expect(newcomer.rowCount).toBe(1);
      await holder.query("SELECT pg_advisory_unlock(44)");
      const done = await Promise.all(blocked);
      expect(done.map((d) => d.rowCount)).toEqual([1, 1, 1, 1]);
      // b's second ran only once a connection was given back.
      expect(started.indexOf("b2")).toBeGreaterThan(0);
    } finally {
      await holder.query("SELECT pg_advisory_unlock_all()");
      await shared.close();
    }
  }, 60_000);

  it("refuses a caller's work that waited too long for its own connections, or with too much waiting, and loses no slot", async () => {
    const bounded = new PgExecutor({
      connectionString: server.url,
      logger: silentLogger,
      poolSize: 2,
      maxConnectionsPerCaller: 1,
      maxSlotWaitMs: 300,
      maxQueuedPerCaller: 1,
    });
    const run = (sql: string, caller = "flooder") =>
      bounded.execute(
        { sql, params: [], timeoutMs: 30_000, maxRows: 10, pageSize: 10, caller } satisfies ExecuteRequest,
        { columns: () => undefined, rows: () => undefined },
      );
    try {
      await holder.query("SELECT pg_advisory_lock(43)");
      const first = run("SELECT pg_advisory_xact_lock_shared(43)::text");
      await new Promise((r) => setTimeout(r, 100));
      const waited = run("SELECT 1").catch((e: unknown) => e);
      const queued = await run("SELECT 2").catch((e: unknown) => e);
      // Too much already waiting: refused at once, with when to come back (the first statement's deadline).
      expect(queued).toBeInstanceOf(RateLimitedError);
      expect((queued as RateLimitedError).details?.retryAfterSeconds).toBeGreaterThanOrEqual(30);
      // Waited its bound: refused.
      const late = await waited;
      expect(late).toBeInstanceOf(RateLimitedError);
      expect((late as RateLimitedError).message).toContain("waited 300 ms");
      // Another caller is not held up by this one's queue.
      expect((await run("SELECT 3", "other")).rowCount).toBe(1);
      await holder.query("SELECT pg_advisory_unlock(43)");
      expect((await first).rowCount).toBe(1);
      // The refused waiters took no slot with them: the caller is served again, one statement after another.
      for (let i = 0; i < 3; i++) expect((await run("SELECT 4")).rowCount).toBe(1);
    } finally {
      await holder.query("SELECT pg_advisory_unlock_all()");
      await bounded.close();
    }
  }, 60_000);
});
