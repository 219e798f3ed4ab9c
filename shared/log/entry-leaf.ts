// What a log leaf is: the canonical JSON of one stored entry (a session version or a policy change), at index seq − 1.

import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import { leafHash } from "#shared/log/merkle.ts";
import type { ChainEntry } from "#shared/ports.ts";

/** The leaf's bytes: the UTF-8 canonical JSON of the whole entry (its chain fields included). */
export function entryLeafData(entry: ChainEntry): Uint8Array {
  return Buffer.from(canonicalJson(entry), "utf8");
}

/** The RFC 9162 leaf hash of an entry. */
export function entryLeafHash(entry: ChainEntry): Uint8Array {
  return leafHash(entryLeafData(entry));
}

/** The entry's leaf index: the sequencer integrates entries in `seq` order, from 0. */
export function entryIndex(entry: Pick<ChainEntry, "seq">): number {
  return entry.seq - 1;
}
