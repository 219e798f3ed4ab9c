// The hash chain over session record versions: how an entry's digest is computed and how continuity is checked.

import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import type { ChainEntry, SessionEntry } from "#shared/ports.ts";
import { isPolicyChange } from "#shared/sessions/policy-change.ts";

/** The `prev` of the very first entry. */
export const CHAIN_GENESIS = sha256Hex("phigate.chain/v1:genesis");

/** The digest of an entry: SHA-256 over the canonical JSON of every field but `digest`. */
export function entryDigest(entry: Omit<ChainEntry, "digest">): string {
  return sha256Hex(
    canonicalJson({
      seq: entry.seq,
      day: entry.day,
      recordedAt: entry.recordedAt,
      prev: entry.prev,
      record: entry.record,
    }),
  );
}

/** Whether an entry holds a version of a session record (not a policy change). */
export function isSessionEntry(entry: ChainEntry): entry is SessionEntry {
  return !isPolicyChange(entry.record);
}

/** Links a new entry after `head` (or after the genesis when there is none). */
export function linkEntry<R extends ChainEntry["record"]>(
  head: Pick<ChainEntry, "seq" | "digest"> | undefined,
  recordedAt: Date,
  record: R,
): ChainEntry<R> {
  const unsigned = {
    seq: (head?.seq ?? 0) + 1,
    day: recordedAt.toISOString().slice(0, 10),
    recordedAt: recordedAt.toISOString(),
    prev: head?.digest ?? CHAIN_GENESIS,
    record,
  };
  return { ...unsigned, digest: entryDigest(unsigned) };
}

/** A problem found while checking a sequence of entries. */
export interface ChainProblem {
  readonly seq: number;
  readonly problem: "digest_mismatch" | "broken_link" | "sequence_gap" | "out_of_order";
  readonly message: string;
}

/**
 * Checks entries in order: each digest recomputes, each `prev` is the digest before it and `seq` has no gaps.
 * The first entry's `prev` is trusted as the anchor (the genesis, or the tail of an earlier range).
 */
export function verifyChain(entries: Iterable<ChainEntry>): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let previous: ChainEntry | undefined;
  for (const entry of entries) {
    if (entryDigest(entry) !== entry.digest) {
      problems.push({
        seq: entry.seq,
        problem: "digest_mismatch",
        message: `entry ${entry.seq}: digest does not match its content`,
      });
    }
    if (previous !== undefined) {
      if (entry.seq !== previous.seq + 1) {
        problems.push({
          seq: entry.seq,
          problem: entry.seq <= previous.seq ? "out_of_order" : "sequence_gap",
          message: `entry ${entry.seq} follows entry ${previous.seq}`,
        });
      }
      if (entry.prev !== previous.digest) {
        problems.push({
          seq: entry.seq,
          problem: "broken_link",
          message: `entry ${entry.seq}: prev is not the digest of entry ${previous.seq}`,
        });
      }
    }
    previous = entry;
  }
  return problems;
}
