// Checks sessions.jsonl offline: each entry's digest, the sequence against the manifest's range, and the links.

import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Manifest } from "#shared/evidence/bundle-format.ts";
import type { Problem } from "#shared/evidence/problems.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { entryDigest } from "#shared/sessions/chain.ts";
import { type SessionRecord, sessionRecordSchema } from "#shared/sessions/record.ts";

/** Called for every entry whose digest verifies, in file order. */
export type EntryVisitor = (seq: number, record: SessionRecord) => void | Promise<void>;

const MAX_DETAILS = 5;

function isEntryShape(value: unknown): value is ChainEntry {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    Number.isInteger(v.seq) &&
    typeof v.day === "string" &&
    typeof v.recordedAt === "string" &&
    typeof v.prev === "string" &&
    typeof v.digest === "string" &&
    typeof v.record === "object" &&
    v.record !== null
  );
}

function describeMissing(missing: number[]): string {
  const shown = missing.slice(0, MAX_DETAILS).join(", ");
  return missing.length > MAX_DETAILS ? `${shown} and ${missing.length - MAX_DETAILS} more` : shown;
}

/**
 * Reads sessions.jsonl line by line and reports, by class: altered entries (digest or shape), entries missing
 * from or foreign to the manifest's seq range, entries out of order, and broken links (including to the anchor).
 */
export async function checkChainFile(
  path: string,
  manifest: Manifest,
  visit: EntryVisitor,
): Promise<{ problems: Problem[]; lines: number; entries: number }> {
  const problems: Problem[] = [];
  const seqs: number[] = [];
  let previous: { seq: number; digest: string } | undefined;
  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  const { from, to } = manifest.range;
  for await (const line of lines) {
    lineNo += 1;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      raw = undefined;
    }
    if (!isEntryShape(raw)) {
      problems.push({
        class: "record_altered",
        message: `sessions.jsonl line ${lineNo} is not a chain entry`,
      });
      previous = undefined;
      continue;
    }
    seqs.push(raw.seq);
    if (entryDigest(raw) !== raw.digest) {
      problems.push({
        class: "record_altered",
        message: `sessions.jsonl line ${lineNo} (seq ${raw.seq}): the entry's content does not hash to its digest`,
      });
    } else {
      const parsed = sessionRecordSchema.safeParse(raw.record);
      if (parsed.success) await visit(raw.seq, parsed.data);
      else {
        problems.push({
          class: "record_altered",
          message: `sessions.jsonl line ${lineNo} (seq ${raw.seq}) is not a phigate.session/v1 record this verifier understands`,
        });
      }
    }
    if (Date.parse(raw.recordedAt) < Date.parse(from) || Date.parse(raw.recordedAt) >= Date.parse(to)) {
      problems.push({
        class: "record_inserted",
        message: `sessions.jsonl line ${lineNo} (seq ${raw.seq}) was recorded at ${raw.recordedAt}, outside the bundle's range`,
      });
    }
    if (previous === undefined && lineNo === 1 && raw.prev !== manifest.chain.anchor) {
      problems.push({
        class: "chain_broken",
        message: `sessions.jsonl line 1 (seq ${raw.seq}) does not link to the manifest's anchor ${manifest.chain.anchor ?? "(none)"}`,
      });
    }
    if (previous !== undefined) {
      if (raw.seq <= previous.seq) {
        problems.push({
          class: "records_reordered",
          message: `sessions.jsonl line ${lineNo}: seq ${raw.seq} comes after seq ${previous.seq}`,
        });
      } else if (raw.seq === previous.seq + 1 && raw.prev !== previous.digest) {
        problems.push({
          class: "chain_broken",
          message: `sessions.jsonl line ${lineNo} (seq ${raw.seq}): prev is not the digest of seq ${previous.seq}`,
        });
      }
    }
    previous = { seq: raw.seq, digest: raw.digest };
  }
  const first = manifest.chain.first;
  const last = manifest.chain.last;
  const expected = first === null || last === null ? [] : [first.seq, last.seq];
  const present = new Set<number>();
  const duplicated = new Set<number>();
  for (const seq of seqs) (present.has(seq) ? duplicated : present).add(seq);
  const missing: number[] = [];
  const [low, high] = expected;
  if (low !== undefined && high !== undefined) {
    for (let seq = low; seq <= high; seq++) if (!present.has(seq)) missing.push(seq);
  }
  if (missing.length > 0) {
    problems.push({
      class: "record_missing",
      message: `sessions.jsonl lacks seq ${describeMissing(missing)} of the manifest's range ${low}–${high}`,
    });
  }
  const foreign = [...present].filter(
    (seq) => low === undefined || high === undefined || seq < low || seq > high,
  );
  if (foreign.length > 0 || duplicated.size > 0) {
    problems.push({
      class: "record_inserted",
      message: `sessions.jsonl holds ${foreign.length > 0 ? `seq ${describeMissing(foreign)} outside the manifest's range` : ""}${foreign.length > 0 && duplicated.size > 0 ? " and " : ""}${duplicated.size > 0 ? `seq ${describeMissing([...duplicated])} more than once` : ""}`,
    });
  }
  if (
    previous !== undefined &&
    last !== null &&
    previous.seq === last.seq &&
    previous.digest !== last.digest
  ) {
    problems.push({
      class: "chain_broken",
      message: `the last entry (seq ${last.seq}) is not the head the manifest names`,
    });
  }
  return { problems, lines: lineNo, entries: seqs.length };
}
