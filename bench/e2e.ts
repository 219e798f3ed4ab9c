// End-to-end gateway figures against one PostgreSQL: small-read latency and concurrency vs direct node-postgres,
// and a large streamed export vs a direct cursor read, with the gateway process's peak RSS.

import { createHash } from "node:crypto";
import pg from "pg";
import Cursor from "pg-cursor";
import type { BenchClient } from "./support/http-client.ts";
import { AS_TEXT } from "./support/pg-text.ts";
import { sampleRss } from "./support/processes.ts";
import { percentile, round } from "./support/stats.ts";

/** The small masked read: 100 patients with every PHI column but the free-text ones. */
export const SMALL_READ_SQL =
  "SELECT id, mrn, ssn, first_name, last_name, dob, sex, zip, phone, email, city FROM patients WHERE id BETWEEN 1 AND 100";

/** The export: every encounter with its patient's identifiers, as a report extract would read them. */
export const EXPORT_SQL =
  "SELECT e.id, e.patient_id, e.admitted_at, e.discharged_at, e.department, e.diagnosis_code, e.notes, " +
  "p.mrn, p.dob, p.zip FROM encounters e JOIN patients p ON p.id = e.patient_id";

/** Latency figures, milliseconds. */
export interface LatencyFigures {
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

/** p50 and p99 of `samples`, ms. */
export function latency(samples: readonly number[]): LatencyFigures {
  return {
    p50: round(percentile(samples, 50), 3),
    p99: round(percentile(samples, 99), 3),
    samples: samples.length,
  };
}

async function gatewayRead(client: BenchClient, token: string): Promise<number> {
  const started = performance.now();
  const answer = await client.send("POST", "/v1/queries", token, { sql: SMALL_READ_SQL });
  const ms = performance.now() - started;
  if (answer.status !== 200)
    throw new Error(`the gateway answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  return ms;
}

/** Small-read latency pooled over every round, and per round (one round: 100 requests per path, in blocks). */
export interface SmallReadFigures {
  readonly gateway: LatencyFigures;
  readonly direct: LatencyFigures;
  readonly directTx: LatencyFigures;
  readonly rounds: readonly {
    readonly gateway: LatencyFigures;
    readonly direct: LatencyFigures;
    readonly directTx: LatencyFigures;
  }[];
}

/** A direct read of the small statement on `db`, timed; throws unless it returns 100 rows. */
export function directSmallRead(db: pg.Client): () => Promise<number> {
  return async () => {
    const started = performance.now();
    const result = await db.query({ text: SMALL_READ_SQL, rowMode: "array", types: AS_TEXT });
    if (result.rows.length !== 100) throw new Error("the direct read did not return 100 rows");
    return performance.now() - started;
  };
}

/**
 * Timed paths run in alternating sequential blocks so machine noise hits all alike: 200 warm-up calls of each (in
 * turn), then per round 100 calls of each path in a block. Latency pooled over every round, and per round.
 */
export async function sequentialRounds<K extends string>(
  paths: Readonly<Record<K, () => Promise<number>>>,
  rounds: number,
): Promise<{ pooled: Record<K, LatencyFigures>; rounds: Record<K, LatencyFigures>[] }> {
  const names = Object.keys(paths) as K[];
  for (let i = 0; i < 200; i++) for (const name of names) await paths[name]();
  const samples = new Map<K, number[]>(names.map((name) => [name, []]));
  const perRound: Record<K, LatencyFigures>[] = [];
  for (let r = 0; r < rounds; r++) {
    const round = {} as Record<K, LatencyFigures>;
    for (const name of names) {
      const block: number[] = [];
      for (let i = 0; i < 100; i++) block.push(await paths[name]());
      samples.get(name)?.push(...block);
      round[name] = latency(block);
    }
    perRound.push(round);
  }
  const pooled = {} as Record<K, LatencyFigures>;
  for (const name of names) pooled[name] = latency(samples.get(name) ?? []);
  return { pooled, rounds: perRound };
}

/**
 * Sequential small reads ({@link sequentialRounds}): through the gateway (HTTP, token, parse, policy, write-ahead
 * record, read-only transaction, masking, store, final record), a direct `client.query` of the same statement, and
 * a direct query wrapped like the gateway's (`BEGIN READ ONLY`, `SET LOCAL statement_timeout`, query, `ROLLBACK`).
 */
export async function smallReadLatency(
  client: BenchClient,
  token: string,
  databaseUrl: string,
  rounds: number,
): Promise<SmallReadFigures> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const directTx = async (): Promise<number> => {
      const started = performance.now();
      await db.query("BEGIN READ ONLY");
      await db.query("SET LOCAL statement_timeout = 5000");
      await db.query({ text: SMALL_READ_SQL, rowMode: "array", types: AS_TEXT });
      await db.query("ROLLBACK");
      return performance.now() - started;
    };
    const figures = await sequentialRounds(
      { gateway: () => gatewayRead(client, token), direct: directSmallRead(db), directTx },
      rounds,
    );
    return { ...figures.pooled, rounds: figures.rounds };
  } finally {
    await db.end();
  }
}

/** Throughput and latency under concurrent load. */
export interface LoadFigures {
  readonly clients: number;
  readonly seconds: number;
  readonly requests: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** Answers other than 200, by status. */
  readonly failures: Record<string, number>;
}

async function load(
  clients: number,
  seconds: number,
  once: () => Promise<number | { status: number }>,
): Promise<LoadFigures> {
  const samples: number[] = [];
  const failures: Record<string, number> = {};
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const outcome = await once();
        if (typeof outcome === "number") samples.push(outcome);
        else failures[outcome.status] = (failures[outcome.status] ?? 0) + 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    clients,
    seconds: round(elapsed, 1),
    requests: samples.length,
    perSecond: round(samples.length / elapsed, 1),
    p50: round(percentile(samples, 50), 2),
    p99: round(percentile(samples, 99), 2),
    failures,
  };
}

/** One call through HTTP under load: its latency (ms) when answered 200, else the answer's status. */
export type HttpCall = () => Promise<number | { status: number }>;

/** The small read POSTed to `path` (the gateway's `/v1/queries`, the floor's `/query`) as an {@link HttpCall}. */
export function smallReadCall(client: BenchClient, path: string, token: string | undefined): HttpCall {
  return async () => {
    const started = performance.now();
    const answer = await client.send("POST", path, token, { sql: SMALL_READ_SQL });
    return answer.status === 200 ? performance.now() - started : { status: answer.status };
  };
}

/**
 * `clients` concurrent callers sending the small masked read for `seconds`, through the gateway and directly (a pool
 * of as many connections, warmed up first), `runs` times with the two alternating so machine noise hits both alike.
 */
export async function concurrency(
  client: BenchClient,
  token: string,
  databaseUrl: string,
  clients: number,
  seconds: number,
  runs = 1,
): Promise<{ gateway: LoadFigures; direct: LoadFigures }[]> {
  const pairs = await pairedLoad(
    smallReadCall(client, "/v1/queries", token),
    databaseUrl,
    clients,
    seconds,
    runs,
  );
  return pairs.map((p) => ({ gateway: p.http, direct: p.direct }));
}

/**
 * `clients` concurrent callers of `viaHttp` for `seconds`, and as many on a warmed direct pool sending the small
 * read, `runs` times, alternating which goes first (the HTTP side first in even runs).
 */
export async function pairedLoad(
  viaHttp: HttpCall,
  databaseUrl: string,
  clients: number,
  seconds: number,
  runs: number,
): Promise<{ http: LoadFigures; direct: LoadFigures }[]> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: clients });
  try {
    await Promise.all(
      Array.from({ length: clients }, () =>
        pool.query({ text: SMALL_READ_SQL, rowMode: "array", types: AS_TEXT }),
      ),
    );
    const pairs: { http: LoadFigures; direct: LoadFigures }[] = [];
    for (let r = 0; r < runs; r++) {
      const httpFirst = r % 2 === 0;
      const viaPool = (): Promise<LoadFigures> =>
        load(clients, seconds, async () => {
          const started = performance.now();
          await pool.query({ text: SMALL_READ_SQL, rowMode: "array", types: AS_TEXT });
          return performance.now() - started;
        });
      if (httpFirst) {
        const http = await load(clients, seconds, viaHttp);
        pairs.push({ http, direct: await viaPool() });
      } else {
        const direct = await viaPool();
        pairs.push({ http: await load(clients, seconds, viaHttp), direct });
      }
    }
    return pairs;
  } finally {
    await pool.end();
  }
}

/** One export through the gateway. */
export interface ExportRun {
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly peakRssBytes: number;
  readonly storedBytes: number;
  readonly sha256: string;
  /** The digest the session record holds equals that of the bytes `resultUrl` serves. */
  readonly digestVerified: boolean;
}

/** Runs `sql` through the gateway (streamed, masked, stored, recorded), sampling the gateway's RSS meanwhile. */
export async function gatewayExport(
  client: BenchClient,
  token: string,
  gatewayPid: number,
  sql: string,
  verify: boolean,
): Promise<ExportRun> {
  const sampler = sampleRss(gatewayPid);
  const started = performance.now();
  const answer = await client.send("POST", "/v1/queries", token, { sql });
  const seconds = (performance.now() - started) / 1000;
  const peakRssBytes = sampler.stop();
  if (answer.status !== 200)
    throw new Error(`the export answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const body = JSON.parse(answer.text) as {
    sessionId: string;
    rowCount: number;
    resultUrl?: string;
    resultSha256?: string;
  };
  if (body.resultUrl === undefined || body.resultSha256 === undefined)
    throw new Error("the export was not streamed (no resultUrl)");
  let digestVerified = false;
  let storedBytes = 0;
  if (verify) {
    const view = await client.send("GET", `/v1/sessions/${body.sessionId}`, token);
    const recorded = (JSON.parse(view.text) as { result?: { resultSha256?: string } }).result?.resultSha256;
    const response = await fetch(body.resultUrl);
    const hash = createHash("sha256");
    for await (const chunk of response.body ?? []) {
      hash.update(chunk);
      storedBytes += chunk.length;
    }
    digestVerified = recorded === body.resultSha256 && hash.digest("hex") === body.resultSha256;
  }
  return {
    rows: body.rowCount,
    seconds: round(seconds, 2),
    rowsPerSecond: Math.round(body.rowCount / seconds),
    peakRssBytes,
    storedBytes,
    sha256: body.resultSha256,
    digestVerified,
  };
}

/** Reads `sql` directly through a pg-cursor in pages of `pageSize`, counting rows. */
export async function directCursorRead(
  databaseUrl: string,
  sql: string,
  pageSize = 1_000,
): Promise<{ rows: number; seconds: number; rowsPerSecond: number }> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const started = performance.now();
    const cursor = db.query(new Cursor(sql, [], { rowMode: "array", types: AS_TEXT }));
    let rows = 0;
    for (;;) {
      const page = await cursor.read(pageSize);
      rows += page.length;
      if (page.length < pageSize) break;
    }
    await cursor.close();
    const seconds = (performance.now() - started) / 1000;
    return { rows, seconds: round(seconds, 2), rowsPerSecond: Math.round(rows / seconds) };
  } finally {
    await db.end();
  }
}
