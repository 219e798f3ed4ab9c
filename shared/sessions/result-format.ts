// The stored result formats: inline JSON `{columns, rows}` and streamed gzip NDJSON (a header line, then one row per line).

import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import * as z from "zod";
import { resultColumnSchema } from "#shared/sessions/record.ts";
import type { Row } from "#shared/sql/types.ts";

/** Content type of an inline result object: one JSON document `{columns, rows}`. */
export const INLINE_RESULT_CONTENT_TYPE = "application/json";

/**
 * Content type of a streamed result object: gzip-compressed NDJSON. It is stored and served as opaque gzip
 * bytes (no `Content-Encoding`), so the bytes a link serves are exactly the bytes whose SHA-256 is recorded.
 */
export const STREAMED_RESULT_CONTENT_TYPE = "application/x-ndjson+gzip";

/** The `format` value of a streamed result's header line; bump it on an incompatible change. */
export const STREAMED_RESULT_FORMAT = "phigate.result.ndjson/v1";

/** The first line of a streamed result: what every following line (one JSON array per row) holds. */
export const streamedResultHeaderSchema = z.object({
  format: z.literal(STREAMED_RESULT_FORMAT),
  sessionId: z.string(),
  columns: z.array(resultColumnSchema),
});

/** The header line of a streamed result. */
export type StreamedResultHeader = z.infer<typeof streamedResultHeaderSchema>;

/** The first two bytes of every gzip member. */
export const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** Parses a streamed result's header line; throws a `ZodError` or `SyntaxError` when it is not one. */
export function parseResultHeader(line: string): StreamedResultHeader {
  return streamedResultHeaderSchema.parse(JSON.parse(line));
}

/** Parses one row line of a streamed result; throws a `TypeError` when it is not a JSON array. */
export function parseResultRow(line: string): unknown[] {
  const row = JSON.parse(line) as unknown;
  if (!Array.isArray(row)) throw new TypeError("a result line is not a JSON array");
  return row;
}

/**
 * The rows of a stored result's bytes, in either format: an inline JSON document, or gzip NDJSON, decompressed only
 * as far as the caller reads. Throws when the bytes are neither.
 */
export async function* storedRows(bytes: Uint8Array): AsyncGenerator<Row> {
  if (bytes[0] !== GZIP_MAGIC[0] || bytes[1] !== GZIP_MAGIC[1]) {
    const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as { rows?: Row[] };
    yield* parsed.rows ?? [];
    return;
  }
  const gunzip = createGunzip();
  gunzip.end(bytes);
  const lines = createInterface({ input: gunzip, crlfDelay: Number.POSITIVE_INFINITY });
  let header = true;
  try {
    for await (const line of lines) {
      if (header) {
        parseResultHeader(line);
        header = false;
      } else if (line !== "") {
        yield parseResultRow(line) as Row;
      }
    }
  } finally {
    lines.close();
    gunzip.destroy();
  }
}

/** The first `maxRows` rows of a stored result's bytes (see {@link storedRows}). */
export async function firstStoredRows(bytes: Uint8Array, maxRows: number): Promise<Row[]> {
  const rows: Row[] = [];
  if (maxRows <= 0) return rows;
  for await (const row of storedRows(bytes)) {
    rows.push(row);
    if (rows.length >= maxRows) break;
  }
  return rows;
}
