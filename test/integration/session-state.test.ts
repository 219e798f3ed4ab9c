// No state survives a statement: whatever caller A ran on the shared connection, caller B's answers are the same (PGlite and the pool).

import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgExecutor } from "#infra/local/adapters/pg-executor.ts";
import { PgliteExecutor } from "#infra/local/adapters/pglite-executor.ts";
import { createJsonLogger } from "#shared/log.ts";
import type { SqlExecutor } from "#shared/ports.ts";
import type { Row } from "#shared/sql/types.ts";
import {
  describeWithPostgres,
  type PostgresServer,
  startPostgresServer,
} from "#test/support/postgres-server.ts";

const logger = createJsonLogger({ service: "session-state-test", level: "error" });

/** What caller A runs (straight to the executor: the policy would deny most of these; the reset must not rely on it). */
const CALLER_A = [
  "SELECT 1",
  "SELECT setseed(0.5)",
  "SELECT pg_advisory_lock(42)",
  "SELECT pg_advisory_lock_shared(43)",
  "SELECT set_config('extra_float_digits', '1', false)",
  "SELECT set_config('search_path', 'pg_temp', false)",
  "SELECT set_config('application_name', 'caller-a', false)",
];

/** Caller B's probe: settings, advisory locks held by the connection, and the next random number. */
const PROBE = `SELECT current_setting('extra_float_digits') AS digits, current_setting('search_path') AS path,
  current_setting('application_name') AS app,
  (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())::int AS locks,
  random()::text AS r`;

async function run(executor: SqlExecutor, sql: string): Promise<Row[]> {
  const rows: Row[] = [];
  await executor.execute(
    { sql, params: [], timeoutMs: 10_000, maxRows: 100, pageSize: 100 },
    { columns: () => undefined, rows: (page) => void rows.push(...page) },
  );
  return rows;
}

/** B's answers after each of A's statements, and the random number `setseed(0.5)` makes predictable. */
async function differential(executor: SqlExecutor, predicted: string): Promise<void> {
  const [baseline] = await run(executor, PROBE);
  expect(baseline).toBeDefined();
  for (const sql of CALLER_A) {
    await run(executor, sql).catch(() => undefined);
    const [answer] = await run(executor, PROBE);
    expect(answer?.slice(0, 4), sql).toEqual(baseline?.slice(0, 4));
    expect(answer?.[4], `${sql}: random() after setseed(0.5) would be ${predicted}`).not.toBe(predicted);
  }
}

describe("session state on the embedded PGlite", () => {
  let dir: string;
  let executor: PgliteExecutor;
  let predicted: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(process.env.PHIGATE_TEST_TMP ?? "/tmp", "session-state-"));
    executor = await PgliteExecutor.start({ dataDir: join(dir, "pgdata"), logger });
    const raw = await PGlite.create();
    await raw.query("SELECT setseed(0.5)");
    predicted = (await raw.query<{ r: string }>("SELECT random()::text AS r")).rows[0]?.r ?? "";
    await raw.close();
  });
  afterAll(async () => {
    await executor?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("gives caller B the same answers whatever caller A ran before", async () => {
    expect(predicted).toMatch(/^0\.\d+/);
    await differential(executor, predicted);
  });
});

describeWithPostgres("session state on the server pool", () => {
  let server: PostgresServer;
  let executor: PgExecutor;
  let predicted: string;

  beforeAll(async () => {
    server = await startPostgresServer();
    // One connection: every caller shares it, as they would any pooled connection in turn.
    executor = new PgExecutor({ connectionString: server.url, logger, poolSize: 1 });
    const raw = new pg.Client(server.url);
    await raw.connect();
    await raw.query("SELECT setseed(0.5)");
    predicted = (await raw.query<{ r: string }>("SELECT random()::text AS r")).rows[0]?.r ?? "";
    await raw.end();
  });
  afterAll(async () => {
    await executor?.close();
    await server?.stop();
  });

  it("gives caller B the same answers whatever caller A ran before", async () => {
    expect(predicted).toMatch(/^0\.\d+/);
    await differential(executor, predicted);
  });
});
