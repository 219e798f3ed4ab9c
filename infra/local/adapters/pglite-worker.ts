// The PGlite worker thread: owns the embedded database so a long statement never blocks the gateway's event loop.

import { randomBytes } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { PGlite, types } from "@electric-sql/pglite";
import type {
  FromWorker,
  OpenMessage,
  ToWorker,
  WorkerField,
} from "#infra/local/adapters/pglite-protocol.ts";
import { toWorkerSchema } from "#infra/local/adapters/pglite-protocol.ts";
import { columnWeights, firstPageRows, nextPageRows, pageTextChars } from "#shared/sql/page-sizing.ts";
import { parameterTypeError } from "#shared/sql/plan-estimate.ts";
import { SESSION_SETTINGS_SQL } from "#shared/sql/values.ts";

const port = parentPort;
if (port === null) throw new Error("pglite-worker must run in a worker thread");

const identity = (text: string): string => text;
/** Every built-in type OID (and the defaults PGlite knows) maps to identity: values arrive as PostgreSQL's text. */
const textParsers: Record<number, (text: string) => string> = {};
for (let oid = 1; oid < 16_384; oid++) textParsers[oid] = identity;
for (const key of Object.keys(types.parsers)) if (/^\d+$/.test(key)) textParsers[Number(key)] = identity;

/**
 * PostgreSQL's shared buffers (initdb writes 128 MB). PostgreSQL zeroes its shared memory as it starts, and in a
 * fresh worker that memory is new: the zeroing commits it page by page, which was most of an open (0.4–0.5 s of
 * ~0.7 s for 128 MB on a 2-core machine, more under load), paid by whoever waits after a stop. 32 MB still holds
 * the demo's indexes and small tables; a larger table is scanned through a small ring of buffers either way
 * (PostgreSQL does so past a quarter of them), and its pages come from the OS cache. Given on the command line, it
 * overrides the data folder's `postgresql.conf`.
 */
const SHARED_BUFFERS = "32MB";

const send = (message: FromWorker): void => port.postMessage(message);
// A worker loads its code, then opens the database when the executor says so: a spare loads ahead of need, and
// no worker opens the data directory before the one it replaces has ended.
const open = await new Promise<Partial<OpenMessage> | null>((resolve) => port.once("message", resolve));
const dataDir = (workerData as { dataDir: string }).dataDir;

/**
 * Removes what a statement stopped with its worker left in `base/pgsql_tmp` (a sort or hash spilled to disk; a
 * 1.2 GB leftover in the thirty-ninth outside attack). PostgreSQL clears them when its server starts and PGlite
 * does not, so every open does: the executor opens a worker only once the one before it has ended.
 */
function removeTemporaryFiles(): void {
  const dir = join(dataDir, "base", "pgsql_tmp");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names)
    if (name.startsWith("pgsql_tmp")) rmSync(join(dir, name), { recursive: true, force: true });
}

removeTemporaryFiles();
const started = Date.now();

/**
 * PGlite's WebAssembly, compiled by the first worker and handed by the executor to every later one. A worker that
 * compiled its own would compile again, lazily, every function the open and the first statements run (PGlite keeps
 * its compiled module per thread, and a restart starts a new thread); a module handed on carries the code earlier
 * workers compiled, optimized code too. Only code is shared: each worker instantiates it with its own memory.
 */
const given = open?.wasmModule instanceof WebAssembly.Module ? open.wasmModule : undefined;
const wasmModule =
  given ??
  (await WebAssembly.compile(
    await readFile(new URL("pglite.wasm", import.meta.resolve("@electric-sql/pglite"))),
  ));
const db = await PGlite.create({
  dataDir,
  parsers: textParsers,
  pgliteWasmModule: wasmModule,
  startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${SHARED_BUFFERS}`],
});
await db.exec(SESSION_SETTINGS_SQL);
// PGlite installs array parsers after start-up, over the ones given at creation: reset every parser to text.
const installed = (db as unknown as { parsers: Record<string, (text: string) => unknown> }).parsers;
for (const key of Object.keys(installed)) installed[key] = identity;

let credits = 0;
let waiter: (() => void) | undefined;
/** The execution the executor asked to end early. */
let cancelled: number | undefined;
let queue: Promise<void> = Promise.resolve();

/**
 * Rows as text, checked where they are (a page is PGlite's own, read once, so no copy is made); anything else
 * (a type PGlite decoded on its own) is refused rather than guessed at.
 */
function textRows(rows: unknown[]): (string | null)[][] {
  for (const row of rows) {
    if (!Array.isArray(row)) throw new TypeError("row is not an array");
    for (const value of row)
      if (value !== null && typeof value !== "string")
        throw new TypeError("a value was not delivered as text");
  }
  return rows as (string | null)[][];
}

function fieldsOf(fields: readonly { name: string; dataTypeID: number }[]): WorkerField[] {
  return fields.map((f) => ({ name: f.name, typeOid: f.dataTypeID }));
}

function sqlstateOf(error: unknown): string | null {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

async function waitForCredit(): Promise<void> {
  while (credits <= 0) await new Promise<void>((resolve) => (waiter = resolve));
  credits--;
}

async function rollback(): Promise<void> {
  await db.exec("ROLLBACK").catch(() => undefined);
}

/**
 * Ends a statement's transaction and leaves nothing of it for the next caller: `DISCARD ALL` (settings, cursors,
 * prepared statements, advisory locks, temporary objects, LISTEN), the gateway's settings again, and a fresh
 * random seed (`random()` must not be predictable from an earlier `setseed`). A worker that cannot reset stops;
 * the executor starts a fresh one.
 */
async function endStatement(): Promise<void> {
  await rollback();
  try {
    await db.exec("DISCARD ALL");
    await db.exec(SESSION_SETTINGS_SQL);
    await db.query("SELECT pg_catalog.setseed($1)", [freshSeed()]);
  } catch {
    process.exit(1);
  }
}

/** A seed in [-1, 1] from the operating system's random source. */
function freshSeed(): number {
  return (randomBytes(4).readUInt32BE(0) / 0xffff_ffff) * 2 - 1;
}

async function execute(message: Extract<ToWorker, { type: "execute" }>): Promise<void> {
  credits = 2;
  try {
    await db.exec("BEGIN READ ONLY");
    for (const [name, value] of message.settings ?? []) await db.exec(`SET LOCAL ${name} = ${value}`);
    await db.query(`DECLARE phigate_cursor NO SCROLL CURSOR FOR ${message.sql}`, message.params as unknown[]);
    let rowCount = 0;
    let truncated = false;
    let weights: number[] | undefined;
    // Pages sized by their text too (shared/sql/page-sizing.ts): wide rows make small pages.
    let pageRows = firstPageRows(message.pageSize);
    for (;;) {
      if (cancelled === message.id) break;
      const want = Math.min(pageRows, message.maxRows - rowCount + 1);
      const page = await db.query<(string | null)[]>(`FETCH ${want} FROM phigate_cursor`, [], {
        rowMode: "array",
      });
      if (weights === undefined) {
        send({ type: "columns", id: message.id, fields: fieldsOf(page.fields) });
        weights = columnWeights(page.fields.map((f) => f.dataTypeID));
      }
      let rows = textRows(page.rows);
      pageRows = nextPageRows(message.pageSize, rows.length, pageTextChars(rows, weights));
      if (rowCount + rows.length > message.maxRows) {
        rows = rows.slice(0, message.maxRows - rowCount);
        truncated = true;
      }
      if (rows.length > 0) {
        await waitForCredit();
        if (cancelled === message.id) break;
        send({ type: "rows", id: message.id, rows });
        rowCount += rows.length;
      }
      if (truncated || page.rows.length < want) break;
    }
    await endStatement();
    send(
      cancelled === message.id
        ? { type: "cancelled", id: message.id }
        : { type: "done", id: message.id, rowCount, truncated },
    );
  } catch (error) {
    await endStatement();
    send({ type: "failed", id: message.id, sqlstate: sqlstateOf(error) });
  }
}

async function query(message: Extract<ToWorker, { type: "query" | "admin" }>): Promise<void> {
  try {
    if (message.type === "query") {
      await db.exec("BEGIN READ ONLY");
      for (const sql of message.before ?? []) await db.exec(sql);
    }
    const result =
      message.params.length === 0 && message.type === "admin"
        ? ((await db.exec(message.sql)).at(-1) ?? { rows: [], fields: [] })
        : await db.query<(string | null)[]>(message.sql, message.params as unknown[], { rowMode: "array" });
    if (message.type === "query") await endStatement();
    const rawRows = (result.rows as unknown[]).map((row) =>
      Array.isArray(row) ? row : result.fields.map((f) => (row as Record<string, unknown>)[f.name]),
    );
    const rows = textRows(rawRows);
    send({ type: "result", id: message.id, fields: fieldsOf(result.fields), rows });
  } catch (error) {
    if (message.type === "query") await endStatement();
    const typing = parameterTypeError(error);
    send({
      type: "failed",
      id: message.id,
      sqlstate: sqlstateOf(error),
      ...(typing === undefined ? {} : { parameterType: { kind: typing.kind, parameter: typing.parameter } }),
    });
  }
}

port.on("message", (raw: unknown) => {
  const parsed = toWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    send({ type: "fatal", message: "invalid message to the PGlite worker" });
    return;
  }
  const message = parsed.data;
  if (message.type === "ack" || message.type === "cancel") {
    // A cancel wakes an execution waiting for credit, which then sees it and stops.
    if (message.type === "cancel") cancelled = message.id;
    credits++;
    waiter?.();
    waiter = undefined;
    return;
  }
  queue = queue.then(() => (message.type === "execute" ? execute(message) : query(message)));
});

send({
  type: "ready",
  startMs: Date.now() - started,
  ...(given === undefined ? { wasm: "compiled", wasmModule } : { wasm: "given" }),
});
