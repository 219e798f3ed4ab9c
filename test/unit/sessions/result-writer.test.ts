// The streaming result writer: inline/streamed switch, NDJSON format, backpressure, and fail-closed aborts.

import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileObjectStore } from "#infra/local/adapters/file-object-store.ts";
import { MaskingFailedError, UnavailableError } from "#shared/errors.ts";
import type { ObjectStore, StoredObject } from "#shared/ports.ts";
import { JsonText, stringifyJson } from "#shared/serialized-json.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import {
  firstStoredRows,
  parseResultHeader,
  STREAMED_RESULT_CONTENT_TYPE,
  STREAMED_RESULT_FORMAT,
} from "#shared/sessions/result-format.ts";
import { ResultWriter } from "#shared/sessions/result-writer.ts";
import { loadStoredResult } from "#shared/sessions/run-statement.ts";
import type { Row } from "#shared/sql/types.ts";

const COLUMNS = [
  { name: "id", type: "int4", masking: null },
  { name: "ssn", type: "text", masking: { rule: "public.patients.ssn", strategy: "partial" } },
];
const SESSION = "ses_01JZ0000000000000000000000";

function pages(count: number, size: number, text = (i: number) => `***-**-${String(i).padStart(4, "0")}`) {
  const out: Row[][] = [];
  for (let p = 0; p < count; p++) {
    const page: Row[] = [];
    for (let r = 0; r < size; r++) {
      const i = p * size + r;
      page.push([i, text(i)]);
    }
    out.push(page);
  }
  return out;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

function streamedLines(bytes: Uint8Array): string[] {
  return gunzipSync(bytes).toString("utf8").split("\n");
}

describe("ResultWriter", () => {
  let dir: string;
  let store: FileObjectStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-writer-"));
    store = new FileObjectStore({
      directory: dir,
      linkKey: randomBytes(32),
      baseUrl: () => "http://127.0.0.1:1",
    });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const writer = (inlineMaxBytes: number, objects: ObjectStore = store) =>
    new ResultWriter({
      objects,
      sessionId: SESSION,
      keyBase: "results/t/r",
      inlineMaxBytes,
      columns: COLUMNS,
    });

  it("keeps a result within the limit inline and stores it as one JSON document", async () => {
    const w = writer(1_000_000);
    const input = pages(3, 10);
    for (const page of input) await w.write(page);
    expect(w.streaming).toBe(false);
    const written = await w.finish();
    expect(written.delivery).toBe("inline");
    if (written.delivery !== "inline") return;
    expect(written.rows).toEqual(input.flat());
    expect(written.object.key).toBe("results/t/r.json");
    const bytes = Buffer.from((await store.get("results/t/r.json")) ?? new Uint8Array());
    // Exactly the bytes of JSON.stringify({columns, rows}): recorded digests stay comparable across versions.
    expect(bytes.toString("utf8")).toBe(JSON.stringify({ columns: COLUMNS, rows: input.flat() }));
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(written.object.sha256);
    expect(written.object.size).toBe(bytes.length);
  });

  it("hands its inline rows on with their text, so the reply writes them without serializing them again", async () => {
    const w = writer(1_000_000);
    let serialized = 0;
    // A value that counts its serializations: once for the stored document, never again for the reply.
    const counted = {
      toJSON: () => {
        serialized++;
        return "x";
      },
    };
    await w.write([
      [1, counted as never],
      [2, "b"],
    ]);
    const written = await w.finish();
    if (written.delivery !== "inline") throw new Error("expected an inline result");
    expect(serialized).toBe(1);
    const reply = {
      sessionId: SESSION,
      status: "completed",
      columns: COLUMNS,
      rows: written.rows,
      rowCount: 2,
    };
    const text = stringifyJson(reply);
    expect(serialized).toBe(1);
    expect(text).toBe(JSON.stringify(reply));
    expect(serialized).toBe(2);
  });

  it("reads a stored inline result back with its text: a session's reply is the stored rows, byte for byte", async () => {
    const w = writer(1_000_000);
    // Values whose JSON is not their obvious spelling: escapes, a lone surrogate, -0, exponents, nested JSON.
    const rows: Row[] = [
      [1, 'quote " back \\ nul \u0000 \ud800 é 😀'],
      [2, { "1": [-0, 1e21, 0.1, 5e-324], b: null, "": "x", __proto__key: true }],
      [3, [1.7976931348623157e308, -1e-7, 123456789012345680000]],
    ];
    await w.write(rows);
    const written = await w.finish();
    if (written.delivery !== "inline") throw new Error("expected an inline result");
    const record = {
      result: { columns: COLUMNS, rowCount: 3, truncated: false, delivery: "inline", object: written.object },
    } as unknown as SessionRecord;
    const loaded = await loadStoredResult({ objects: store } as unknown as SessionDeps, record);
    const document = Buffer.from((await store.get(written.object.key)) ?? new Uint8Array()).toString("utf8");
    const storedRows = document.slice(document.indexOf('"rows":') + 7, -1);
    const reply = { sessionId: SESSION, status: "completed", ...loaded };
    const text = stringifyJson(reply);
    expect(text).toBe(JSON.stringify(reply));
    expect(text).toContain(`"rows":${storedRows}`);
    // Held as the stored text, never parsed on the way out; what JSON.stringify reads of it is the rows themselves.
    expect(loaded.rows).toBeInstanceOf(JsonText);
    expect(JSON.parse(text).rows).toEqual(JSON.parse(JSON.stringify(rows)));
  });

  it("parses a stored inline document of another shape rather than splicing a slice of it", async () => {
    const object = await store.put(
      "results/t/other.json",
      Buffer.from('{"rows":[[1]],"columns":[]}'),
      "application/json",
    );
    const record = {
      result: { columns: COLUMNS, rowCount: 1, truncated: false, delivery: "inline", object },
    } as unknown as SessionRecord;
    const loaded = await loadStoredResult({ objects: store } as unknown as SessionDeps, record);
    expect(loaded.rows).toEqual([[1]]);
    expect(stringifyJson(loaded)).toBe(JSON.stringify(loaded));
  });

  it("switches to a gzip NDJSON stream on the page that crosses the limit, keeping every row in order", async () => {
    const w = writer(600);
    const input = pages(20, 10);
    await w.write(input[0] ?? []);
    expect(w.streaming).toBe(false);
    for (const page of input.slice(1)) await w.write(page);
    expect(w.streaming).toBe(true);
    const written = await w.finish();
    expect(written.delivery).toBe("url");
    expect(written.object.key).toBe("results/t/r.ndjson.gz");
    expect(written.object.contentType).toBe(STREAMED_RESULT_CONTENT_TYPE);
    const bytes = await readFile(join(dir, "results/t/r.ndjson.gz"));
    expect([...bytes.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(written.object.sha256);
    const lines = streamedLines(bytes);
    expect(lines.at(-1)).toBe("");
    const header = parseResultHeader(lines[0] ?? "");
    expect(header).toEqual({ format: STREAMED_RESULT_FORMAT, sessionId: SESSION, columns: COLUMNS });
    expect(lines.slice(1, -1).map((l) => JSON.parse(l))).toEqual(input.flat());
    expect(await filesUnder(dir)).toEqual(["r.ndjson.gz"]);
  });

  it("stores the same bytes however the rows are paged: the NDJSON text gzip'd at level 1", async () => {
    const rows = pages(1, 6_000, (i) => `note ${i}: ${"x".repeat(i % 97)}`)[0] ?? [];
    const header = JSON.stringify({ format: STREAMED_RESULT_FORMAT, sessionId: SESSION, columns: COLUMNS });
    const expected = gzipSync(`${header}\n${rows.map((r) => `${JSON.stringify(r)}\n`).join("")}`, {
      level: 1,
    });
    for (const size of [6_000, 1_000, 7]) {
      const w = new ResultWriter({
        objects: store,
        sessionId: SESSION,
        keyBase: `results/t/paged-${size}`,
        inlineMaxBytes: 600,
        columns: COLUMNS,
      });
      for (let i = 0; i < rows.length; i += size) await w.write(rows.slice(i, i + size));
      const written = await w.finish();
      const bytes = (await store.get(written.object.key)) ?? new Uint8Array();
      expect(Buffer.from(bytes).equals(expected)).toBe(true);
    }
  });

  it("waits for the store: a write stays pending while the store does not read", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let taken = 0;
    const slow: ObjectStore = {
      ...store,
      get: (key) => store.get(key),
      readUrl: (key, ttl) => store.readUrl(key, ttl),
      async put(key, body, contentType): Promise<StoredObject> {
        const chunks: Uint8Array[] = [];
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          chunks.push(chunk);
          taken += chunk.length;
          await gate;
        }
        return store.put(key, Buffer.concat(chunks), contentType);
      },
    };
    const w = writer(100, slow);
    // Random text does not compress, so every page becomes about as many gzip bytes as it has characters.
    const input = pages(400, 50, () => randomBytes(24).toString("hex"));
    let written = 0;
    let stalled = false;
    for (const page of input) {
      const pending = w.write(page);
      const outcome = await Promise.race([
        pending.then(() => "done"),
        new Promise((resolve) => setTimeout(() => resolve("stalled"), 100)),
      ]);
      if (outcome === "stalled") {
        // Only the first stall is the store's doing; once released, a slow moment of a loaded machine is not.
        if (!stalled) expect(taken).toBeLessThan(200_000);
        stalled = true;
        release();
      }
      await pending;
      written++;
    }
    expect(stalled).toBe(true);
    expect(written).toBe(input.length);
    const result = await w.finish();
    const lines = streamedLines((await store.get(result.object.key)) ?? new Uint8Array());
    expect(lines.length - 2).toBe(400 * 50);
  });

  it("leaves no object behind when aborted mid-stream (a masking failure)", async () => {
    const w = writer(100);
    for (const page of pages(50, 20)) await w.write(page);
    expect(w.streaming).toBe(true);
    await w.abort(new MaskingFailedError("Masking failed; nothing was returned."));
    expect(await filesUnder(dir)).toEqual([]);
    expect(await store.get("results/t/r.ndjson.gz")).toBeUndefined();
    await expect(w.write(pages(1, 1)[0] ?? [])).rejects.toThrow(TypeError);
    await expect(w.finish()).rejects.toThrow(TypeError);
  });

  it("fails the writer when the store fails mid-upload, and the store keeps nothing", async () => {
    const failing: ObjectStore = {
      get: (key) => store.get(key),
      readUrl: (key, ttl) => store.readUrl(key, ttl),
      put(key, body, contentType) {
        async function* breakAfterTwo(): AsyncIterable<Uint8Array> {
          let n = 0;
          for await (const chunk of body as AsyncIterable<Uint8Array>) {
            if (++n > 2) throw new Error("disk full");
            yield chunk;
          }
        }
        return store.put(key, breakAfterTwo(), contentType);
      },
    };
    const w = writer(100, failing);
    const input = pages(2_000, 50, () => randomBytes(24).toString("hex"));
    let failure: unknown;
    try {
      for (const page of input) await w.write(page);
      await w.finish();
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(UnavailableError);
    await w.abort(failure);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it("reads the first rows back from either stored format", async () => {
    const input = pages(20, 10);
    for (const limit of [1_000_000, 600]) {
      const w = new ResultWriter({
        objects: store,
        sessionId: SESSION,
        keyBase: `results/t/first-${limit}`,
        inlineMaxBytes: limit,
        columns: COLUMNS,
      });
      for (const page of input) await w.write(page);
      const written = await w.finish();
      const bytes = (await store.get(written.object.key)) ?? new Uint8Array();
      expect(await firstStoredRows(bytes, 15)).toEqual(input.flat().slice(0, 15));
      expect(await firstStoredRows(bytes, 1_000)).toEqual(input.flat());
    }
  });
});
