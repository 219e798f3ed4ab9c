// Downloads a `resultUrl` result as a stream: counts and hashes the bytes, un-gzips, and yields rows one by one.

import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { CliError, EXIT } from "#cli/cli-error.ts";
import type { HttpLimits } from "#cli/http.ts";
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
  /** Print a result that has no recorded SHA-256 (`--allow-unverified-result`); refused otherwise. */
  readonly allowUnverified?: boolean;
  readonly progress?: (totalBytes: number | undefined) => DownloadProgress;
  /** Timeouts and caps (default: from the environment). */
  readonly limits?: HttpLimits;
}

/** The longest line of a streamed result (one row). */
export const MAX_RESULT_LINE_BYTES = 64 * 1024 * 1024;

function badResult(message: string): CliError {
  return new CliError("bad_result", message, EXIT.error);
}

/** Splits bytes into `\n`-separated UTF-8 lines, holding at most one line of `maxLine` bytes. */
async function* boundedLines(source: AsyncIterable<Buffer>, maxLine: number): AsyncGenerator<string> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of source) {
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, start)) {
      parts.push(chunk.subarray(start, newline));
      length += newline - start;
      if (length > maxLine) throw badResult(`a line of the result is longer than ${maxLine} bytes`);
      yield Buffer.concat(parts, length).toString("utf8");
      parts = [];
      length = 0;
      start = newline + 1;
    }
    if (start < chunk.length) {
      parts.push(chunk.subarray(start));
      length += chunk.length - start;
      if (length > maxLine) throw badResult(`a line of the result is longer than ${maxLine} bytes`);
    }
  }
  if (length > 0) yield Buffer.concat(parts, length).toString("utf8");
}

/** Counts bytes through a stream and fails beyond `max` (a gzip bomb stops here, not in memory or on disk). */
async function* capped(source: AsyncIterable<Buffer>, max: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > max) {
      throw new CliError(
        "response_too_large",
        `the result is larger than ${max} bytes uncompressed (raise PHIGATE_MAX_RESULT_BYTES to read it)`,
        EXIT.error,
      );
    }
    yield chunk;
  }
}

/**
 * Opens `url` and reads just enough to know the columns. Streamed results (gzip NDJSON: a header line, then one
 * JSON array per line) are decoded as they arrive, so memory does not grow with the row count (nor with a line
 * that never ends: {@link MAX_RESULT_LINE_BYTES}); a plain JSON document `{columns, rows}` (older results) is read
 * whole, within the answer cap. The download is bounded in time and size (`#cli/http.ts`). A result without a
 * recorded SHA-256 is refused unless `allowUnverified`.
 */
export async function openResultDownload(
  url: string,
  options: DownloadOptions = {},
): Promise<ResultDownload> {
  if (typeof url !== "string" || !/^https?:\/\//i.test(url))
    throw badResult("the result link is not an http(s) URL");
  const expected = options.expectedSha256;
  if (expected !== undefined && (typeof expected !== "string" || !/^[0-9a-f]{64}$/.test(expected))) {
    throw badResult("the gateway's resultSha256 is not a SHA-256 digest");
  }
  if (expected === undefined && options.allowUnverified !== true) {
    throw new CliError(
      "unverified_result",
      "the gateway gave no resultSha256 for this result, so the download cannot be checked; rerun with --allow-unverified-result to print it anyway",
      EXIT.error,
    );
  }
  const { limitsFromEnv, send } = await import("#cli/http.ts");
  const limits = options.limits ?? limitsFromEnv();
  const response = await send(
    url,
    { method: "GET", maxBytes: limits.maxResultBytes, what: "the result link" },
    limits,
  );
  if (response.status !== 200) {
    response.cancel();
    throw new CliError(
      "download_failed",
      `the result link answered ${response.status} (links are short-lived: run \`phigate session <id>\` for a fresh one)`,
      EXIT.error,
    );
  }
  const length = Number(response.headers["content-length"] ?? Number.NaN);
  const progress = options.progress?.(Number.isFinite(length) ? length : undefined);
  const hash = createHash("sha256");
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of response.body) {
      hash.update(chunk);
      progress?.addBytes(chunk.length);
      yield chunk;
    }
  }
  const verify = (): void => {
    const actual = hash.digest("hex");
    if (expected !== undefined && actual !== expected) {
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
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    if (limits.maxResponseBytes < limits.maxResultBytes) {
      return wholeDocument(capped(all(), limits.maxResponseBytes), verify, progress);
    }
    return wholeDocument(all(), verify, progress);
  }
  const gunzip = createGunzip();
  const input = Readable.from(all());
  input.once("error", (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  const lines = boundedLines(capped(gunzip, limits.maxResultBytes), MAX_RESULT_LINE_BYTES);
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
        let row: unknown[];
        try {
          row = parseResultRow(next.value);
        } catch {
          throw badResult("a row of the result is not a JSON array");
        }
        yield row;
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
        response.cancel();
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
  let document: { columns?: unknown; rows?: unknown } | null;
  try {
    document = JSON.parse(Buffer.concat(parts).toString("utf8")) as typeof document;
  } catch {
    document = null;
  }
  if (!Array.isArray(document?.columns) || !Array.isArray(document?.rows))
    throw badResult("the result is neither gzip NDJSON nor a {columns, rows} document");
  const rows = (document.rows as unknown[]).map((row) => (Array.isArray(row) ? row : [row]));
  progress?.addRows(rows.length);
  progress?.done();
  return {
    columns: document.columns as DownloadedColumn[],
    rows: (async function* () {
      yield* rows;
    })(),
  };
}
