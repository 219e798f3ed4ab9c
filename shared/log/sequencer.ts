// The in-process sequencer: integrates durable entries into the Merkle tree and publishes a signed checkpoint per batch.

import type { KeyObject } from "node:crypto";
import { UnavailableError } from "#shared/errors.ts";
import { readCheckpoint, type SignedCheckpoint, signCheckpoint } from "#shared/log/checkpoint.ts";
import { entryIndex, entryLeafHash } from "#shared/log/entry-leaf.ts";
import type { CheckpointStore, TransparencyLog } from "#shared/log/log-ports.ts";
import { consistencyProof, inclusionProof, sameHash } from "#shared/log/merkle.ts";
import { MerkleTree } from "#shared/log/merkle-tree.ts";
import { errorFields, type Logger } from "#shared/log.ts";
import type { ChainEntry, Signer } from "#shared/ports.ts";

/** How the sequencer signs, stores and paces its checkpoints. */
export interface SequencerOptions {
  readonly checkpoints: CheckpointStore;
  readonly signer: Signer;
  readonly publicKey: KeyObject;
  readonly origin: string;
  /** Longest an accepted entry waits before the batch holding it is checkpointed (default 250 ms). */
  readonly batchDelayMs?: number;
  /** Longest `covering` waits for a checkpoint before failing (default 5 s). */
  readonly coverTimeoutMs?: number;
  readonly logger?: Logger;
}

/** The stored checkpoints and the entries disagree: entries were lost or rewritten, or a checkpoint was forged. */
export class LogCorruptError extends Error {
  override readonly name = "LogCorruptError";
}

interface Waiter {
  readonly size: number;
  resolve(checkpoint: SignedCheckpoint): void;
  reject(error: unknown): void;
}

const DEFAULT_BATCH_DELAY_MS = 250;

/**
 * Holds the tree of every durable entry in memory (rebuilt from the entries at start) and publishes a checkpoint
 * at most `batchDelayMs` after an entry is accepted. Entries are integrated in `seq` order; a restart integrates
 * whatever is durable but not yet checkpointed, so a crash between acceptance and integration loses nothing.
 */
export class LogSequencer implements TransparencyLog {
  readonly origin: string;
  private readonly tree = new MerkleTree();
  private readonly batchDelayMs: number;
  private early: ChainEntry[] = [];
  private started = false;
  private published: SignedCheckpoint | undefined;
  private oldestPendingAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private publishing: Promise<void> | undefined;
  private waiters: Waiter[] = [];
  private broken: unknown;
  private closed = false;
  /** Batches published since start, and the longest observed wait from acceptance to checkpoint (ms). */
  readonly stats = { batches: 0, maxMergeDelayMs: 0 };

  constructor(private readonly options: SequencerOptions) {
    this.origin = options.origin;
    this.batchDelayMs = options.batchDelayMs ?? DEFAULT_BATCH_DELAY_MS;
  }

  /** Number of entries integrated into the tree (checkpointed or about to be). */
  get size(): number {
    return this.tree.size;
  }

  /**
   * Rebuilds the tree from every durable entry (in order), checks the latest stored checkpoint against it, and
   * publishes a checkpoint over entries no checkpoint covers yet (the migration of an existing chain, or a crash).
   */
  async start(history: AsyncIterable<ChainEntry>): Promise<void> {
    for await (const entry of history) this.integrate(entry);
    for (const entry of this.early) this.integrate(entry);
    this.early = [];
    this.started = true;
    const latest = await this.options.checkpoints.latestSize();
    if (latest !== undefined) {
      const note = (await this.options.checkpoints.get(latest)) ?? "";
      const reading = readCheckpoint(note, this.options.publicKey, this.origin);
      if (!reading.ok) throw new LogCorruptError(`checkpoint ${latest}: ${reading.message}`);
      if (latest > this.tree.size) {
        throw new LogCorruptError(
          `checkpoint ${latest} covers more entries than the journal holds (${this.tree.size})`,
        );
      }
      if (!sameHash(this.tree.root(latest), reading.checkpoint.root)) {
        throw new LogCorruptError(
          `the journal's first ${latest} entries no longer hash to checkpoint ${latest}`,
        );
      }
      this.published = reading.checkpoint;
    }
    if (this.published === undefined || this.published.size < this.tree.size) await this.publish();
  }

  /** Called by the store with entries just made durable, in order. Never throws: a gap breaks the log instead. */
  accept(entries: readonly ChainEntry[]): void {
    if (!this.started) {
      this.early.push(...entries);
      return;
    }
    try {
      for (const entry of entries) this.integrate(entry);
    } catch (error) {
      this.broken = error;
      this.options.logger?.error("the log sequencer lost its place; proofs are refused until a restart");
      return;
    }
    this.oldestPendingAt ??= performance.now();
    this.schedule();
  }

  latest(): SignedCheckpoint {
    this.usable();
    return this.published as SignedCheckpoint;
  }

  covering(size: number): Promise<SignedCheckpoint> {
    this.usable();
    const published = this.published as SignedCheckpoint;
    if (published.size >= size) return Promise.resolve(published);
    if (size > this.tree.size) {
      return Promise.reject(new UnavailableError("store_unavailable", "the entry is not in the log yet"));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { size, resolve, reject };
      this.waiters.push(waiter);
      const timeout = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new UnavailableError("store_unavailable", "no checkpoint was published in time"));
      }, this.options.coverTimeoutMs ?? 5_000);
      timeout.unref();
      const settle = waiter.resolve;
      waiter.resolve = (checkpoint) => {
        clearTimeout(timeout);
        settle(checkpoint);
      };
      this.schedule();
    });
  }

  async checkpointAt(size: number): Promise<SignedCheckpoint> {
    const latest = await this.covering(size);
    if (latest.size === size) return latest;
    const stored = await this.options.checkpoints.get(size);
    if (stored !== undefined) return this.readStored(size, stored);
    const signed = await signCheckpoint(
      { origin: this.origin, size, root: this.tree.root(size) },
      this.options.signer,
      this.options.publicKey,
    );
    if (await this.options.checkpoints.put(size, signed.note)) return signed;
    return this.readStored(size, (await this.options.checkpoints.get(size)) ?? "");
  }

  inclusionProof(index: number, size: number): Uint8Array[] {
    this.usable();
    return inclusionProof(this.tree, index, size);
  }

  consistencyProof(first: number, second: number): Uint8Array[] {
    this.usable();
    return consistencyProof(this.tree, first, second);
  }

  prefixFrontier(size: number): Uint8Array[] {
    this.usable();
    const hashes: Uint8Array[] = [];
    let lo = 0;
    for (let width = 2 ** Math.floor(Math.log2(Math.max(size, 1))); width >= 1; width /= 2) {
      if (lo + width <= size) {
        hashes.push(this.tree.subtree(lo, lo + width));
        lo += width;
      }
    }
    return hashes;
  }

  /** Stops the timer and checkpoints whatever is pending, so a clean stop leaves every entry integrated. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.publishing !== undefined) await this.publishing.catch(() => undefined);
    if (this.started && this.broken === undefined && (this.published?.size ?? -1) < this.tree.size) {
      await this.publish().catch((error: unknown) =>
        this.options.logger?.warn("the final checkpoint could not be published", errorFields(error)),
      );
    }
  }

  private usable(): void {
    if (this.broken !== undefined || this.published === undefined) {
      throw new UnavailableError("store_unavailable", "the transparency log is unavailable", {
        cause: this.broken,
      });
    }
  }

  private integrate(entry: ChainEntry): void {
    const index = entryIndex(entry);
    if (index < this.tree.size) return;
    if (index !== this.tree.size) {
      throw new LogCorruptError(`entry ${entry.seq} arrived after ${this.tree.size} integrated entries`);
    }
    this.tree.append(entryLeafHash(entry));
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed || !this.started) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.publish().catch((error: unknown) => {
        this.options.logger?.warn("checkpoint publication failed; retrying", errorFields(error));
        this.schedule();
      });
    }, this.batchDelayMs);
    this.timer.unref();
  }

  private async publish(): Promise<void> {
    while (this.publishing !== undefined) await this.publishing.catch(() => undefined);
    const run = this.publishOnce();
    this.publishing = run;
    try {
      await run;
    } finally {
      this.publishing = undefined;
    }
  }

  private async publishOnce(): Promise<void> {
    const size = this.tree.size;
    if (this.published !== undefined && this.published.size >= size) return;
    const pendingSince = this.oldestPendingAt;
    this.oldestPendingAt = undefined;
    let checkpoint: SignedCheckpoint;
    try {
      const signed = await signCheckpoint(
        { origin: this.origin, size, root: this.tree.root(size) },
        this.options.signer,
        this.options.publicKey,
      );
      checkpoint = (await this.options.checkpoints.put(size, signed.note))
        ? signed
        : this.readStored(size, (await this.options.checkpoints.get(size)) ?? "");
    } catch (error) {
      if (pendingSince !== undefined)
        this.oldestPendingAt = Math.min(pendingSince, this.oldestPendingAt ?? pendingSince);
      throw error;
    }
    this.published = checkpoint;
    this.stats.batches += 1;
    if (pendingSince !== undefined) {
      this.stats.maxMergeDelayMs = Math.max(this.stats.maxMergeDelayMs, performance.now() - pendingSince);
    }
    if (this.tree.size > size) this.schedule();
    const ready = this.waiters.filter((w) => w.size <= size);
    this.waiters = this.waiters.filter((w) => w.size > size);
    for (const waiter of ready) waiter.resolve(checkpoint);
  }

  /** A stored checkpoint of `size`; one naming another root for the same size is a fork. */
  private readStored(size: number, note: string): SignedCheckpoint {
    const reading = readCheckpoint(note, this.options.publicKey, this.origin);
    if (!reading.ok) throw new LogCorruptError(`checkpoint ${size}: ${reading.message}`);
    if (reading.checkpoint.size !== size || !sameHash(reading.checkpoint.root, this.tree.root(size))) {
      throw new LogCorruptError(`stored checkpoint ${size} names another root (a fork)`);
    }
    return reading.checkpoint;
  }
}
