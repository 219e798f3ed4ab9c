// The bench's floor in its own process: the cheapest Node HTTP front to PostgreSQL (node:http, a pg.Pool, JSON in
// and out; no auth, policy, masking, records or transaction), so the gateway's figures can be read against what
// any such front costs on the same machine. Prints `READY <url>`; SIGTERM stops.

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { stat, unlink } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import pg from "pg";
import Cursor from "pg-cursor";
import { AS_TEXT } from "./pg-text.ts";

function settings(): { databaseUrl: string; exportDir: string; poolSize: number } {
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  const exportDir = process.env.BENCH_FLOOR_DIR;
  const poolSize = Number(process.env.BENCH_FLOOR_POOL);
  if (databaseUrl === undefined || exportDir === undefined || !(poolSize > 0)) {
    process.stderr.write(
      "floor-server: BENCH_DATABASE_URL, BENCH_FLOOR_DIR and BENCH_FLOOR_POOL are required\n",
    );
    process.exit(2);
  }
  return { databaseUrl, exportDir, poolSize };
}
const { databaseUrl, exportDir, poolSize } = settings();

/** Rows per cursor page: the gateway's export page size and the direct cursor baseline's. */
const PAGE_ROWS = 1_000;

const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
// An idle connection failing is not what the floor measures; the next query gets a fresh one.
pool.on("error", () => undefined);

/** The request body: the statement, and for exports an optional gzip level (zlib's default when absent). */
interface Body {
  readonly sql: string;
  readonly level?: number;
}

async function readBody(request: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { sql?: unknown; level?: unknown };
  if (typeof body.sql !== "string") throw new Error("the body has no sql");
  return typeof body.level === "number" ? { sql: body.sql, level: body.level } : { sql: body.sql };
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

/** The small read: one pooled query, its rows as arrays of text, answered whole. */
async function query(sql: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const result = await pool.query({ text: sql, rowMode: "array", types: AS_TEXT });
  return { columns: result.fields.map((f) => f.name), rows: result.rows };
}

let exports = 0;

/**
 * The export: cursor pages → one NDJSON line per row → gzip → a file. A page's lines go to gzip in one write (a
 * write per row costs a stream call and a zlib call per row, which no front needs to pay), and the next page is
 * read while this one is serialized, as the gateway's executor does, so the floor is not slower for want of
 * either. Backpressure: a write that fills gzip's buffer waits for `drain`.
 */
async function exportRows(sql: string, level: number | undefined): Promise<{ rows: number; bytes: number }> {
  exports += 1;
  const file = join(exportDir, `export-${exports}.ndjson.gz`);
  const gzip = level === undefined ? createGzip() : createGzip({ level });
  const written = pipeline(gzip, createWriteStream(file));
  // A failure is awaited below; until then it must not count as unhandled.
  written.catch(() => undefined);
  const client = await pool.connect();
  let rows = 0;
  try {
    const cursor = client.query(new Cursor(sql, [], { rowMode: "array", types: AS_TEXT }));
    try {
      let next: Promise<unknown[][]> | undefined = cursor.read(PAGE_ROWS);
      while (next !== undefined) {
        const page: unknown[][] = await next;
        next = page.length === PAGE_ROWS ? cursor.read(PAGE_ROWS) : undefined;
        let text = "";
        for (const row of page) text += `${JSON.stringify(row)}\n`;
        rows += page.length;
        if (text !== "" && !gzip.write(text)) await once(gzip, "drain");
      }
    } finally {
      await cursor.close();
    }
    gzip.end();
    await written;
  } catch (error) {
    gzip.destroy();
    throw error;
  } finally {
    client.release();
  }
  const bytes = (await stat(file)).size;
  // Nobody reads the file back: keeping a few 1,000,000-row exports would only fill the bench's temp folder.
  await unlink(file);
  return { rows, bytes };
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    if (request.method !== "POST") return answer(response, 405, { error: "POST only" });
    if (request.url === "/query") return answer(response, 200, await query((await readBody(request)).sql));
    if (request.url === "/export") {
      const body = await readBody(request);
      return answer(response, 200, await exportRows(body.sql, body.level));
    }
    answer(response, 404, { error: "no such route" });
  } catch (error) {
    answer(response, 500, { error: error instanceof Error ? error.message : String(error) });
  }
}

const server = createServer((request, response) => void handle(request, response));
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the floor server has no port");
  process.stdout.write(`READY http://127.0.0.1:${address.port}\n`);
});
process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => void pool.end().then(() => process.exit(0)));
});
