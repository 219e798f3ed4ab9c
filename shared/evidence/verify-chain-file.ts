// Checks sessions.jsonl offline: each entry's digest, the sequence against the manifest's range, and the links.

import { BUNDLE_FILES, BUNDLE_SCHEMA, type Manifest } from "#shared/evidence/bundle-format.ts";
import { MAX_LINE_BYTES, readLines } from "#shared/evidence/bundle-reader.ts";
import type { Problem } from "#shared/evidence/problems.ts";
import { derivedLeafHash } from "#shared/log/entry-leaf.ts";
import { leafHash } from "#shared/log/merkle.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { entryDigest } from "#shared/sessions/chain.ts";
import {
  type ChainRecord,
  POLICY_CHANGE_SCHEMA,
  policyChangeRecordSchema,
} from "#shared/sessions/policy-change.ts";
import { sessionRecordSchema } from "#shared/sessions/record.ts";

/** Called for every entry whose digest verifies, in file order: a session version or (v3) a policy change. */
export type EntryVisitor = (seq: number, record: ChainRecord, recordedAt: string) => void | Promise<void>;

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

/** The record of a verified entry, or a sentence saying why this verifier does not understand it. */
function recordOf(raw: ChainEntry, manifest: Manifest): ChainRecord | string {
  if (raw.record.schema === POLICY_CHANGE_SCHEMA) {
    if (manifest.schema !== BUNDLE_SCHEMA) return "is a policy change, which a v2 bundle cannot hold";
    const change = policyChangeRecordSchema.safeParse(raw.record);
    return change.success ? change.data : `is not a ${POLICY_CHANGE_SCHEMA} record this verifier understands`;
  }
  const parsed = sessionRecordSchema.safeParse(raw.record);
  return parsed.success ? parsed.data : "is not a phigate.session/v1 record this verifier understands";
}

/** Where the chain file is read, and how much of it (the manifest's size, and a line's worth more). */
export interface ChainFile {
  readonly root: string;
  readonly maxBytes: number;
  /** Receives every line's log leaf hash, in file order (a line that is no entry still counts as a leaf). */
  readonly onLeaf?: (leaf: Uint8Array) => void;
}

/**
 * Reads sessions.jsonl line by line (at most `file.maxBytes`, one line of at most `MAX_LINE_BYTES` in memory) and
 * reports, by class: altered entries (digest, shape, encoding, length), entries missing from or foreign to the
 * manifest's seq range, entries out of order, and broken links (including to the anchor). A record the visitor
 * cannot check is reported against its line, never thrown.
 */
export async function checkChainFile(
  file: ChainFile,
  manifest: Manifest,
  visit: EntryVisitor,
): Promise<{ problems: Problem[]; lines: number; entries: number }> {
  const problems: Problem[] = [];
  const onLeaf = file.onLeaf;
  const seqs: number[] = [];
  let previous: { seq: number; digest: string } | undefined;
  let lineNo = 0;
  const summary = { unread: 0 };
  const { from, to } = manifest.range;
  for await (const line of readLines(file.root, BUNDLE_FILES.sessions, file.maxBytes, summary)) {
    lineNo = line.lineNo;
    if (!("text" in line)) {
      onLeaf?.(leafHash(Buffer.from(`unreadable line ${lineNo}`)));
      problems.push({
        class: "record_altered",
        message: `sessions.jsonl line ${lineNo} ${line.problem === "too_long" ? `is longer than ${MAX_LINE_BYTES} bytes` : "is not UTF-8"}: not a chain entry`,
      });
      previous = undefined;
      continue;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(line.text);
    } catch {
      raw = undefined;
    }
    if (onLeaf !== undefined) {
      let leaf: Uint8Array;
      try {
        leaf = isEntryShape(raw) ? derivedLeafHash(raw) : leafHash(Buffer.from(line.text, "utf8"));
      } catch {
        leaf = leafHash(Buffer.from(line.text, "utf8"));
      }
      onLeaf(leaf);
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
    let digestMatches: boolean;
    try {
      digestMatches = entryDigest(raw) === raw.digest;
    } catch {
      digestMatches = false;
    }
    if (!digestMatches) {
      problems.push({
        class: "record_altered",
        message: `sessions.jsonl line ${lineNo} (seq ${raw.seq}): the entry's content does not hash to its digest`,
      });
    } else {
      const record = recordOf(raw, manifest);
      if (typeof record === "string") {
        problems.push({
          class: "record_altered",
          message: `sessions.jsonl line ${lineNo} (seq ${raw.seq}) ${record}`,
        });
      } else {
        try {
          await visit(raw.seq, record, raw.recordedAt);
        } catch (error) {
          problems.push({
            class: "record_altered",
            message: `sessions.jsonl line ${lineNo} (seq ${raw.seq}): this verifier could not check the record (${error instanceof Error ? error.message.split("\n")[0] : "unknown failure"})`,
          });
        }
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
  if (summary.unread > 0) {
    problems.push({
      class: "record_inserted",
      message: `sessions.jsonl holds ${summary.unread} byte(s) beyond the manifest's size that were not read`,
    });
  }
  return { problems, lines: lineNo, entries: seqs.length };
}
