// The CLI's download path: fetch a result link, check its digest, un-gzip, and print rows as they arrive.

import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliError } from "#cli/cli-error.ts";
import { openResultDownload } from "#cli/download.ts";
import type { ResultBody } from "#cli/format.ts";
import { DownloadProgress } from "#cli/progress.ts";
import { printDownloadedResult } from "#cli/stream-format.ts";
import { STREAMED_RESULT_FORMAT } from "#shared/sessions/result-format.ts";

const COLUMNS = [
  { name: "id", type: "int4", masking: null },
  { name: "note", type: "text", masking: { rule: "public.encounters.notes", strategy: "detect" } },
];
const ROWS = [
  [1, 'a "quoted", comma'],
  [2, "line\nbreak"],
  [3, null],
];

function ndjsonGz(rows: unknown[][]): Buffer {
  const header = { format: STREAMED_RESULT_FORMAT, sessionId: "ses_x", columns: COLUMNS };
  return gzipSync([header, ...rows].map((line) => `${JSON.stringify(line)}\n`).join(""));
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

class Sink extends Writable {
  text = "";
  writes = 0;
  constructor() {
    super({ highWaterMark: 1024 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString("utf8");
    this.writes++;
    setImmediate(done);
  }
}

const ANSWER: ResultBody = {
  sessionId: "ses_x",
  columns: COLUMNS,
  rows: [],
  rowCount: 3,
  truncated: false,
};

describe("phigate query: downloading a resultUrl", () => {
  let server: Server;
  let base: string;
  const bodies = new Map<string, Buffer>();
  const small = ndjsonGz(ROWS);
  const bigRows = Array.from({ length: 100_000 }, (_, i) => [i, `note ${i}`]);
  const big = ndjsonGz(bigRows);
  bodies.set("/small", small);
  bodies.set("/big", big);
  bodies.set("/legacy", Buffer.from(JSON.stringify({ columns: COLUMNS, rows: ROWS })));

  beforeAll(async () => {
    server = createServer((request, response) => {
      const body = bodies.get(request.url ?? "");
      if (body === undefined) {
        response.writeHead(404).end('{"error":{"code":"not_found","message":"expired"}}');
        return;
      }
      response.writeHead(200, { "content-type": "application/gzip", "content-length": body.length });
      response.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function print(path: string, format: "table" | "json" | "csv" | "ndjson", expected = sha256(small)) {
    const progress: string[] = [];
    const download = await openResultDownload(`${base}${path}`, {
      expectedSha256: expected,
      progress: (total) =>
        new DownloadProgress({ write: (t: string) => progress.push(t), isTTY: false }, total),
    });
    const out = new Sink();
    const count = await printDownloadedResult(ANSWER, download, format, out);
    return { out: out.text, count, progress, writes: out.writes };
  }

  it("prints CSV with RFC 4180 quoting", async () => {
    const { out, count, progress } = await print("/small", "csv");
    expect(count).toBe(3);
    expect(out).toBe('id,note\r\n1,"a ""quoted"", comma"\r\n2,"line\nbreak"\r\n3,\r\n');
    expect(progress.at(-1)).toMatch(/^downloaded 0\.0 MiB, 3 rows in \d+\.\d s\n$/);
  });

  it("prints NDJSON objects, JSON in the answer's shape, and an aligned table", async () => {
    const ndjson = await print("/small", "ndjson");
    expect(
      ndjson.out
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { id: 1, note: 'a "quoted", comma' },
      { id: 2, note: "line\nbreak" },
      { id: 3, note: null },
    ]);
    const json = JSON.parse((await print("/small", "json")).out);
    expect(json).toEqual({
      sessionId: "ses_x",
      status: "completed",
      columns: COLUMNS,
      rows: ROWS,
      rowCount: 3,
      truncated: false,
    });
    const table = (await print("/small", "table")).out.split("\n");
    expect(table[0]).toBe("id │ note (detect)");
    expect(table[2]).toBe('1  │ a "quoted", comma');
    expect(table[3]).toBe("2  │ line break");
  });

  it("streams a large result through a slow writer in many small writes", async () => {
    const { count, out, writes } = await print("/big", "csv", sha256(big));
    expect(count).toBe(100_000);
    expect(out.endsWith("99999,note 99999\r\n")).toBe(true);
    expect(writes).toBeGreaterThan(10);
  });

  it("fails after the last row when the bytes do not match the recorded SHA-256", async () => {
    await expect(print("/small", "csv", "0".repeat(64))).rejects.toMatchObject({ code: "digest_mismatch" });
  });

  it("reports an expired or unknown link as download_failed", async () => {
    const options = { expectedSha256: "0".repeat(64) };
    await expect(openResultDownload(`${base}/gone`, options)).rejects.toBeInstanceOf(CliError);
    await expect(openResultDownload(`${base}/gone`, options)).rejects.toMatchObject({
      code: "download_failed",
    });
  });

  it("still reads a plain JSON result document", async () => {
    const legacy = bodies.get("/legacy") ?? Buffer.alloc(0);
    const { out, count } = await print("/legacy", "ndjson", sha256(legacy));
    expect(count).toBe(3);
    expect(out.split("\n")[0]).toBe('{"id":1,"note":"a \\"quoted\\", comma"}');
  });
});
