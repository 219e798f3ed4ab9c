// The server executor's per-caller connection cap: one caller's blocked statements cannot hold the whole pool, so another caller's planner estimate still gets a connection.

import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PgExecutor } from "#infra/local/adapters/pg-executor.ts";
import { silentLogger } from "#shared/log.ts";
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
});
