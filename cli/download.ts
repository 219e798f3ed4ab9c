// Downloads a `resultUrl` result as a stream: counts and hashes the bytes, un-gzips, and yields rows one by one.

import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { createGunzip } from "node:zlib";
import { CliError, EXIT } from "#cli/client.ts";
import type { DownloadProgress } from "#cli/progress.ts";
import { parseResultHeader, parseResultRow } from "#shared/sessions/result-format.ts";

/** A result column as the gateway describes it. */
export interface DownloadedColumn {
  readonly name: string;
  readonly type: string;
  readonly masking: { readonly rule: string; readonly strategy: string } | null;
}

/** An opened download: the columns, then the rows as they arrive. */
export interface ResultDownload {
  readonly columns: readonly DownloadedColumn[];
  /** Rows in order; the digest is checked once the last one was read (a mismatch throws there). */
  readonly rows: AsyncIterable<unknown[]>;
}

/** How to open a download. */
export interface DownloadOptions {
  /** `resultSha256` from the answer: the SHA-256 the downloaded bytes must have. */
  readonly expectedSha256?: string;
  readonly progress?: (totalBytes: number | undefined) => DownloadProgress;
}

function badResult(message: string): CliError {
  return new CliError("bad_result", message, EXIT.error);
}

/**
 * Opens `url` and reads just enough to know the columns. Streamed results (gzip NDJSON: a header line, then one
 * JSON array per line) are decoded as they arrive, so memory does not grow with the row count; a plain JSON
 * document `{columns, rows}` (older results) is read whole.
 */
export async function openResultDownload(
  url: string,
  options: DownloadOptions = {},
): Promise<ResultDownload> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new CliError("unreachable", `cannot download the result (${(error as Error).message})`, EXIT.error);
  }
  if (response.status !== 200 || response.body === null) {
    await response.body?.cancel();
    throw new CliError(
      "download_failed",
      `the result link answered ${response.status} (links are short-lived: run \`phigate session <id>\` for a fresh one)`,
      EXIT.error,
    );
  }
  const length = Number(response.headers.get("content-length") ?? Number.NaN);
  const progress = options.progress?.(Number.isFinite(length) ? length : undefined);
  const hash = createHash("sha256");
  const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hash.update(chunk);
      progress?.addBytes(chunk.length);
      yield chunk;
    }
  }
  const verify = (): void => {
    const actual = hash.digest("hex");
    if (options.expectedSha256 !== undefined && actual !== options.expectedSha256) {
      throw new CliError(
        "digest_mismatch",
        "the downloaded result does not match the SHA-256 the gateway recorded; discard the output",
        EXIT.error,
      );
    }
  };
  const iterator = counted();
  const first = await iterator.next();
  const head: Buffer = first.done === true ? Buffer.alloc(0) : first.value;
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) return wholeDocument(all(), verify, progress);
  const gunzip = createGunzip();
  const input = Readable.from(all());
  input.once("error", (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  const lines = createInterface({ input: gunzip, crlfDelay: Number.POSITIVE_INFINITY })[
    Symbol.asyncIterator
  ]();
  const headerLine = await lines.next();
  if (headerLine.done === true) throw badResult("the result is empty");
  let columns: DownloadedColumn[];
  try {
    columns = parseResultHeader(headerLine.value).columns;
  } catch {
    throw badResult("the result does not start with a phigate result header");
  }
  async function* rows(): AsyncGenerator<unknown[]> {
    let batch = 0;
    let read = false;
    try {
      for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
        if (next.value === "") continue;
        yield parseResultRow(next.value);
        if (++batch === 1_000) {
          progress?.addRows(batch);
          batch = 0;
        }
      }
      read = true;
    } finally {
      // A reader that stops early (the MCP server's first rows, a cancelled proxy statement) releases the download.
      if (!read) {
        input.destroy();
        gunzip.destroy();
        source.destroy();
      }
    }
    progress?.addRows(batch);
    verify();
    progress?.done();
  }
  return { columns, rows: rows() };
}

async function wholeDocument(
  chunks: AsyncIterable<Buffer>,
  verify: () => void,
  progress: DownloadProgress | undefined,
): Promise<ResultDownload> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  verify();
  const document = JSON.parse(Buffer.concat(parts).toString("utf8")) as {
    columns?: DownloadedColumn[];
    rows?: unknown[][];
  };
  if (!Array.isArray(document.columns) || !Array.isArray(document.rows))
    throw badResult("the result is neither gzip NDJSON nor a {columns, rows} document");
  progress?.addRows(document.rows.length);
  progress?.done();
  const rows = document.rows;
  return {
    columns: document.columns,
    rows: (async function* () {
      yield* rows;
    })(),
  };
}
