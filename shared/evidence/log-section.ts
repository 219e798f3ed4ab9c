// The log section of an evidence bundle: checkpoints at both ends of the range and the proofs that tie the entries to them.

import * as z from "zod";
import type { TransparencyLog } from "#shared/log/log-ports.ts";
import type { BundleSink, WrittenFile } from "#shared/ports.ts";

/** Schema identifier of `log/range.json`. */
export const LOG_RANGE_SCHEMA = "phigate.log-range/v1";

/** The files of the log section. */
export const LOG_FILES = {
  start: "log/checkpoint-start.note",
  end: "log/checkpoint-end.note",
  range: "log/range.json",
} as const;

const base64Hash = z.string().regex(/^[A-Za-z0-9+/]{43}=$/);
const size = z.number().int().nonnegative();

/**
 * `log/range.json`: the range is leaves [start, end) of the log. `frontier` holds the complete-subtree hashes of
 * the first `start` leaves (they re-derive the start checkpoint's root; with the range's leaves appended, the end
 * checkpoint's). `previous`, when the request named an earlier bundle's end, proves the start extends it.
 */
export const logRangeSchema = z.strictObject({
  schema: z.literal(LOG_RANGE_SCHEMA),
  origin: z.string().min(1).max(256),
  start: size,
  end: size,
  frontier: z.array(base64Hash).max(64),
  previous: z.strictObject({ size, consistency: z.array(base64Hash).max(128) }).optional(),
});

/** The parsed `log/range.json`. */
export type LogRange = z.infer<typeof logRangeSchema>;

/** What the manifest says about the log section (signed with it). */
export const manifestLogSchema = z.strictObject({
  origin: z.string().min(1).max(256),
  start: size,
  end: size,
  startCheckpoint: z.literal(LOG_FILES.start),
  endCheckpoint: z.literal(LOG_FILES.end),
  range: z.literal(LOG_FILES.range),
});

/** The manifest's `log` field. */
export type ManifestLog = z.infer<typeof manifestLogSchema>;

const b64 = (hash: Uint8Array): string => Buffer.from(hash).toString("base64");

/**
 * Writes the log section for the entries [start, end) of the log: both checkpoints, the start's frontier and (with
 * `previousSize` ≤ start) the consistency proof from that size to the start.
 */
export async function writeLogSection(
  log: TransparencyLog,
  sink: BundleSink,
  start: number,
  end: number,
  previousSize: number | undefined,
): Promise<{ files: WrittenFile[]; manifest: ManifestLog }> {
  const endCheckpoint = await log.checkpointAt(end);
  const startCheckpoint = await log.checkpointAt(start);
  const range: LogRange = {
    schema: LOG_RANGE_SCHEMA,
    origin: log.origin,
    start,
    end,
    frontier: log.prefixFrontier(start).map(b64),
    ...(previousSize === undefined || previousSize > start
      ? {}
      : {
          previous: { size: previousSize, consistency: log.consistencyProof(previousSize, start).map(b64) },
        }),
  };
  const files = [
    await sink.write(LOG_FILES.start, Buffer.from(startCheckpoint.note, "utf8")),
    await sink.write(LOG_FILES.end, Buffer.from(endCheckpoint.note, "utf8")),
    await sink.write(LOG_FILES.range, Buffer.from(`${JSON.stringify(range, null, 2)}\n`, "utf8")),
  ];
  return {
    files,
    manifest: {
      origin: log.origin,
      start,
      end,
      startCheckpoint: LOG_FILES.start,
      endCheckpoint: LOG_FILES.end,
      range: LOG_FILES.range,
    },
  };
}
