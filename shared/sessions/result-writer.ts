// Writes a masked result as it arrives: buffered up to the inline limit, then streamed to the store as gzip NDJSON.

import { once } from "node:events";
import type { TransformOptions } from "node:stream";
import { createGzip, type Gzip, type ZlibOptions } from "node:zlib";
import { UnavailableError } from "#shared/errors.ts";
import type { ObjectStore, StoredObject } from "#shared/ports.ts";
import { withJsonText } from "#shared/serialized-json.ts";
import {
  INLINE_RESULT_CONTENT_TYPE,
  STREAMED_RESULT_CONTENT_TYPE,
  STREAMED_RESULT_FORMAT,
  type StreamedResultHeader,
} from "#shared/sessions/result-format.ts";
import type { Row } from "#shared/sql/types.ts";

/** What the writer needs. */
export interface ResultWriterOptions {
  readonly objects: ObjectStore;
  readonly sessionId: string;
  /** Object key without extension; `.json` (inline) or `.ndjson.gz` (streamed) is appended. */
  readonly keyBase: string;
  /** Largest result kept inline: bytes of the `{columns, rows}` JSON document. */
  readonly inlineMaxBytes: number;
  readonly columns: StreamedResultHeader["columns"];
  /** gzip level (1 fastest … 9 smallest). Default 1: on NDJSON it is about twice as fast as 4 for a similar size. */
  readonly gzipLevel?: number;
}

/** A stored result: inline ones keep their rows for the response body. */
export type WrittenResult =
  | { readonly delivery: "inline"; readonly object: StoredObject; readonly rows: readonly Row[] }
  | { readonly delivery: "url"; readonly object: StoredObject };

/** Kept rows handed to the gzip stream per write when the writer switches to streaming. */
const KEPT_ROWS_PER_WRITE = 200;

/**
 * Characters of NDJSON handed to gzip per write: pieces stay below V8's large-object size (128 KiB), so a page's
 * text is young garbage rather than a large object promoted to the old generation while gzip reads it.
 */
const STREAM_WRITE_CHARS = 32 * 1024;

/**
 * NDJSON bytes gzip may hold before a write waits (its writable high-water mark): a few pieces, so the main
 * thread serializes the next ones while the thread pool compresses these, and memory stays bounded by this.
 */
const GZIP_INPUT_BYTES = 256 * 1024;

/** Bytes of the inline document besides its rows: `{"columns":[...],"rows":[` and `]}`. */
function envelopeBytes(columns: ResultWriterOptions["columns"]): number {
  return Buffer.byteLength(JSON.stringify({ columns, rows: [] }));
}

interface Stream {
  readonly gzip: Gzip;
  readonly put: Promise<StoredObject>;
  /** Rejects when the store fails (or finishes before the end, which is a failure too). */
  readonly broken: Promise<never>;
}

/**
 * Accepts masked pages in order. While the inline document stays within `inlineMaxBytes` rows are kept in
 * memory; the page that crosses the limit switches the writer to a streaming `put`: the header line and every
 * kept row are written into a gzip stream the store reads as it uploads, the kept rows are dropped, and from
 * then on each page is serialized, compressed and handed on with backpressure (`write` resolves only once the
 * store has taken enough). `abort` destroys the stream so the store discards the partial object.
 */
export class ResultWriter {
  private rows: Row[] = [];
  /** The JSON text of each kept row, serialized once for both the inline document and the stream. */
  private rowTexts: string[] = [];
  private bytes: number;
  private stream: Stream | undefined;
  private failure: unknown;
  private settled = false;

  constructor(private readonly options: ResultWriterOptions) {
    this.bytes = envelopeBytes(options.columns);
  }

  /** Whether the result is being streamed to the store (it crossed the inline limit). */
  get streaming(): boolean {
    return this.stream !== undefined;
  }

  /** Adds one page of masked rows; resolves when the page is buffered or taken by the store. */
  async write(page: readonly Row[]): Promise<void> {
    if (this.settled) throw new TypeError("the result writer is closed");
    if (page.length === 0) return;
    const stream = this.stream;
    if (stream !== undefined) {
      if (this.failure !== undefined) throw this.failure;
      let text = "";
      for (const row of page) {
        text += `${JSON.stringify(row)}\n`;
        if (text.length >= STREAM_WRITE_CHARS) {
          await this.push(stream, text);
          text = "";
        }
      }
      if (text !== "") await this.push(stream, text);
      return;
    }
    for (const row of page) {
      const text = JSON.stringify(row);
      // The row and the comma that separates it in the inline document.
      this.bytes += Buffer.byteLength(text) + 1;
      this.rowTexts.push(text);
      this.rows.push(row);
    }
    if (this.bytes > this.options.inlineMaxBytes) await this.switchToStream();
  }

  /** Stores what was written; the object is complete (and its digest known) once this resolves. */
  async finish(): Promise<WrittenResult> {
    if (this.settled) throw new TypeError("the result writer is closed");
    this.settled = true;
    const stream = this.stream;
    if (stream === undefined) {
      // Byte for byte `JSON.stringify({columns, rows})`, from the row texts already made; the reply that carries
      // the rows writes the same text (withJsonText), so no row is serialized twice.
      const rowsText = `[${this.rowTexts.join(",")}]`;
      this.rowTexts = [];
      const body = Buffer.from(
        `{"columns":${JSON.stringify(this.options.columns)},"rows":${rowsText}}`,
        "utf8",
      );
      const object = await this.options.objects.put(
        `${this.options.keyBase}.json`,
        body,
        INLINE_RESULT_CONTENT_TYPE,
      );
      return { delivery: "inline", object, rows: withJsonText(this.rows, rowsText) };
    }
    stream.gzip.end();
    return { delivery: "url", object: await stream.put };
  }

  /** Abandons the result: a streaming upload is destroyed, so the store keeps no complete-looking object. */
  async abort(reason: unknown): Promise<void> {
    this.settled = true;
    this.rows = [];
    this.rowTexts = [];
    const stream = this.stream;
    if (stream === undefined) return;
    stream.gzip.destroy(reason instanceof Error ? reason : new Error("result aborted"));
    await stream.put.catch(() => undefined);
  }

  private async switchToStream(): Promise<void> {
    // zlib hands its options to the Transform it is, high-water marks included.
    const options: ZlibOptions & TransformOptions = {
      level: this.options.gzipLevel ?? 1,
      chunkSize: 64 * 1024,
      writableHighWaterMark: GZIP_INPUT_BYTES,
    };
    const gzip = createGzip(options);
    // Errors reach the writer through the store's rejection; this keeps a late one from going unhandled.
    gzip.on("error", () => undefined);
    const put = this.options.objects.put(
      `${this.options.keyBase}.ndjson.gz`,
      gzip,
      STREAMED_RESULT_CONTENT_TYPE,
    );
    const broken = put.then(
      () => {
        throw new UnavailableError("store_unavailable", "the object store ended the upload early");
      },
      (error: unknown) => {
        throw error;
      },
    );
    broken.catch((error: unknown) => {
      this.failure = error;
    });
    const stream: Stream = { gzip, put, broken };
    this.stream = stream;
    const header: StreamedResultHeader = {
      format: STREAMED_RESULT_FORMAT,
      sessionId: this.options.sessionId,
      columns: [...this.options.columns],
    };
    const kept = this.rowTexts;
    this.rowTexts = [];
    this.rows = [];
    await this.push(stream, `${JSON.stringify(header)}\n`);
    for (let i = 0; i < kept.length; i += KEPT_ROWS_PER_WRITE)
      await this.push(stream, `${kept.slice(i, i + KEPT_ROWS_PER_WRITE).join("\n")}\n`);
  }

  private async push(stream: Stream, text: string): Promise<void> {
    if (stream.gzip.write(text)) return;
    const controller = new AbortController();
    // A gzip stream only errors once its reader (the store) gave up: wait for the store's own error.
    const drained = once(stream.gzip, "drain", { signal: controller.signal }).then(
      () => undefined,
      () => (controller.signal.aborted ? undefined : stream.broken),
    );
    try {
      await Promise.race([drained, stream.broken]);
    } finally {
      controller.abort();
    }
  }
}
