// The floor: what the cheapest Node HTTP front to PostgreSQL (bench/support/floor-server.ts) costs on this machine,
// taken like the gateway's figures (same statements, same HTTP client, same direct baselines, paired the same way),
// so the gateway's figures can be read against the limit of "Node HTTP in front of PostgreSQL", not only direct SQL.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import {
  directSmallRead,
  type LatencyFigures,
  type LoadFigures,
  pairedLoad,
  SMALL_READ_SQL,
  sequentialRounds,
  smallReadCall,
} from "./e2e.ts";
import type { BenchClient } from "./support/http-client.ts";
import { type GatewayProcess, sampleRss, startBenchChild } from "./support/processes.ts";
import { round } from "./support/stats.ts";

/**
 * The gateway's pool in the bench: `PgExecutor`'s default (`infra/local/adapters/pg-executor.ts`), since
 * `startLocalHost` passes no pool size and the bench's gateway child sets none. The floor gets as many connections.
 */
export const GATEWAY_POOL_SIZE = 10;

/** Starts the floor server on the database at `databaseUrl`, its export files under `root`. */
export async function startFloor(root: string, databaseUrl: string): Promise<GatewayProcess> {
  const dir = join(root, "floor");
  await mkdir(dir, { recursive: true });
  return startBenchChild("bench/support/floor-server.ts", {
    BENCH_DATABASE_URL: databaseUrl,
    BENCH_FLOOR_DIR: dir,
    BENCH_FLOOR_POOL: String(GATEWAY_POOL_SIZE),
  });
}

/** The small read through the floor: its latency, ms; throws on any answer but 100 rows. */
async function floorRead(client: BenchClient): Promise<number> {
  const started = performance.now();
  const answer = await client.send("POST", "/query", undefined, { sql: SMALL_READ_SQL });
  const ms = performance.now() - started;
  if (answer.status !== 200)
    throw new Error(`the floor answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  if ((JSON.parse(answer.text) as { rows: unknown[] }).rows.length !== 100)
    throw new Error("the floor did not answer 100 rows");
  return ms;
}

/** Small-read latency through the floor and direct, pooled over every round and per round. */
export interface FloorSmallReadFigures {
  readonly floor: LatencyFigures;
  readonly direct: LatencyFigures;
  readonly rounds: readonly { readonly floor: LatencyFigures; readonly direct: LatencyFigures }[];
}

/**
 * The gateway's small-read rounds ({@link sequentialRounds}) with the floor in the gateway's place: per round 100
 * sequential requests through the floor and 100 direct `client.query` of the same statement on one connection.
 */
export async function floorSmallReadLatency(
  client: BenchClient,
  databaseUrl: string,
  rounds: number,
): Promise<FloorSmallReadFigures> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const figures = await sequentialRounds(
      { floor: () => floorRead(client), direct: directSmallRead(db) },
      rounds,
    );
    return { ...figures.pooled, rounds: figures.rounds };
  } finally {
    await db.end();
  }
}

/** The gateway's load pairs with the floor in the gateway's place: `clients` callers of the small read each side. */
export async function floorConcurrency(
  client: BenchClient,
  databaseUrl: string,
  clients: number,
  seconds: number,
  runs: number,
): Promise<{ floor: LoadFigures; direct: LoadFigures }[]> {
  const pairs = await pairedLoad(
    smallReadCall(client, "/query", undefined),
    databaseUrl,
    clients,
    seconds,
    runs,
  );
  return pairs.map((p) => ({ floor: p.http, direct: p.direct }));
}

/** One export through the floor. */
export interface FloorExportRun {
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** gzip level asked for; `default` is zlib's (6). */
  readonly gzipLevel: number | "default";
  readonly peakRssBytes: number;
  readonly storedBytes: number;
}

/** Exports `sql` through the floor at gzip `level` (zlib's default when undefined), sampling its RSS meanwhile. */
export async function floorExport(
  client: BenchClient,
  floorPid: number,
  sql: string,
  level?: number,
): Promise<FloorExportRun> {
  const sampler = sampleRss(floorPid);
  const started = performance.now();
  const answer = await client.send(
    "POST",
    "/export",
    undefined,
    level === undefined ? { sql } : { sql, level },
  );
  const seconds = (performance.now() - started) / 1000;
  const peakRssBytes = sampler.stop();
  if (answer.status !== 200)
    throw new Error(`the floor's export answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const body = JSON.parse(answer.text) as { rows: number; bytes: number };
  return {
    rows: body.rows,
    seconds: round(seconds, 2),
    rowsPerSecond: Math.round(body.rows / seconds),
    gzipLevel: level ?? "default",
    peakRssBytes,
    storedBytes: body.bytes,
  };
}
