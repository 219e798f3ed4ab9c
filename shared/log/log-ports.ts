// What the core needs from a transparency log: its signed checkpoints, proofs against them, and where they are kept.

import type { SignedCheckpoint } from "#shared/log/checkpoint.ts";

/** Write-once storage of signed checkpoint notes, one per tree size. */
export interface CheckpointStore {
  /** Stores the note of a size; false when that size is already stored (nothing changes). */
  put(size: number, note: string): Promise<boolean>;
  get(size: number): Promise<string | undefined>;
  /** The largest stored size, or undefined when none is stored. */
  latestSize(): Promise<number | undefined>;
}

/** The log as the API and the evidence builder read it. */
export interface TransparencyLog {
  /** The origin line of the log's checkpoints. */
  readonly origin: string;
  /** The latest published checkpoint. */
  latest(): SignedCheckpoint;
  /** Resolves with a published checkpoint covering at least `size` entries (waits for the next batch if needed). */
  covering(size: number): Promise<SignedCheckpoint>;
  /**
   * A signed checkpoint of exactly `size` (≤ the integrated size): the stored one, or one signed now over the same
   * prefix (a checkpoint states a prefix's root, so signing an earlier size states nothing new).
   */
  checkpointAt(size: number): Promise<SignedCheckpoint>;
  inclusionProof(index: number, size: number): Uint8Array[];
  consistencyProof(first: number, second: number): Uint8Array[];
  /** The hashes of the complete subtrees that make up the first `size` leaves, left to right. */
  prefixFrontier(size: number): Uint8Array[];
}

/** Dependencies of routes that serve the log (absent on a host that has none yet). */
export interface LogDeps {
  readonly log?: TransparencyLog;
}
