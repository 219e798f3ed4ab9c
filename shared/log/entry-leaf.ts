// What a log leaf is: the digest of one stored entry (a session version or a policy change), at index seq − 1.

import { leafHash } from "#shared/log/merkle.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { entryDigest } from "#shared/sessions/chain.ts";

/**
 * The leaf's bytes: the entry's 32-byte digest (SHA-256 over the canonical JSON of its seq, day, recordedAt, prev
 * and record), so a leaf commits to the whole entry and costs one more hash, not another serialization.
 */
export function entryLeafData(digest: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new TypeError("an entry digest is 64 hex digits");
  return Uint8Array.from(Buffer.from(digest, "hex"));
}

/** The RFC 9162 leaf hash of an entry the store just linked (its `digest` is its own computation). */
export function entryLeafHash(entry: Pick<ChainEntry, "digest">): Uint8Array {
  return leafHash(entryLeafData(entry.digest));
}

/** The leaf hash re-derived from an entry's content (what verifiers use: a stated digest is not trusted). */
export function derivedLeafHash(entry: Omit<ChainEntry, "digest">): Uint8Array {
  return leafHash(entryLeafData(entryDigest(entry)));
}

/** The entry's leaf index: the sequencer integrates entries in `seq` order, from 0. */
export function entryIndex(entry: Pick<ChainEntry, "seq">): number {
  return entry.seq - 1;
}
