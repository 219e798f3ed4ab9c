// The AWS log as routes and bundles read it: the head's signed checkpoint, and the tree rebuilt from the chain's index.

import type { KeyObject } from "node:crypto";
import { createPublicKey } from "node:crypto";
import { type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { UnavailableError } from "#shared/errors.ts";
import { logOrigin, readCheckpoint, type SignedCheckpoint, signCheckpoint } from "#shared/log/checkpoint.ts";
import { entryLeafHash } from "#shared/log/entry-leaf.ts";
import type { CheckpointStore, TransparencyLog } from "#shared/log/log-ports.ts";
import { consistencyProof, inclusionProof, sameHash } from "#shared/log/merkle.ts";
import { MerkleTree } from "#shared/log/merkle-tree.ts";
import { LogCorruptError } from "#shared/log/sequencer.ts";
import type { Signer } from "#shared/ports.ts";
import { headFromItem, type Item, keys } from "./dynamo-log-items.ts";
import { queryItems } from "./dynamo-query.ts";
import { daysBetween } from "./dynamo-session-store.ts";

/** How the log view reads the table and checks what it reads. */
export interface DynamoTransparencyLogOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly signer: Signer;
  readonly publicKey: KeyObject;
  readonly origin: string;
  /** Where checkpoints of other sizes are kept (bundles ask for exact sizes); absent: only the head's is served. */
  readonly checkpoints?: Pick<CheckpointStore, "put" | "get">;
  /** Longest `covering` waits for the sequencer (default 12 s: a batch window, a KMS sign, two writes). */
  readonly coverTimeoutMs?: number;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

function unavailable(message: string, cause?: unknown): UnavailableError {
  return new UnavailableError("store_unavailable", message, cause === undefined ? undefined : { cause });
}

/**
 * A read-only `TransparencyLog` over what the sequencer stored: the latest checkpoint (on the head item, checked
 * against the key), and the leaves (each index item's digest) loaded into memory once per container and extended
 * as the log grows; the rebuilt root must equal the checkpoint's, or nothing is served. Proofs are then computed
 * as on the local host.
 */
export class DynamoTransparencyLog implements TransparencyLog {
  readonly origin: string;
  private readonly tree = new MerkleTree();
  private loadedDay: string | undefined;
  private published: SignedCheckpoint | undefined;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: DynamoTransparencyLogOptions) {
    this.origin = options.origin;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** A view signing (bundles' exact sizes) and checking with `signer`'s key, as `phigate.log/<fingerprint prefix>`. */
  static async create(
    options: Omit<DynamoTransparencyLogOptions, "publicKey" | "origin">,
  ): Promise<DynamoTransparencyLog> {
    const description = await options.signer.publicKey();
    return new DynamoTransparencyLog({
      ...options,
      publicKey: createPublicKey(description.pem),
      origin: logOrigin(description.fingerprint),
    });
  }

  latest(): SignedCheckpoint {
    if (this.published === undefined) throw unavailable("the transparency log has no checkpoint yet");
    return this.published;
  }

  async covering(size: number): Promise<SignedCheckpoint> {
    const deadline = Date.now() + (this.options.coverTimeoutMs ?? 12_000);
    for (;;) {
      await this.refresh();
      if (this.published !== undefined && this.published.size >= size) return this.published;
      if (Date.now() >= deadline) throw unavailable("the entry is not in the log yet");
      await this.sleep(this.options.pollMs ?? 500);
    }
  }

  async checkpointAt(size: number): Promise<SignedCheckpoint> {
    const latest = await this.covering(size);
    if (latest.size === size) return latest;
    const store = this.options.checkpoints;
    if (store === undefined) throw unavailable("this function keeps no checkpoints of earlier sizes");
    const stored = await store.get(size);
    if (stored !== undefined) return this.checked(size, stored);
    const signed = await signCheckpoint(
      { origin: this.origin, size, root: this.tree.root(size) },
      this.options.signer,
      this.options.publicKey,
    );
    if (await store.put(size, signed.note)) return signed;
    return this.checked(size, (await store.get(size)) ?? "");
  }

  inclusionProof(index: number, size: number): Uint8Array[] {
    return inclusionProof(this.tree, index, size);
  }

  consistencyProof(first: number, second: number): Uint8Array[] {
    return consistencyProof(this.tree, first, second);
  }

  prefixFrontier(size: number): Uint8Array[] {
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

  /** Reads the head's checkpoint and extends the tree to its size (index items past it are not committed yet). */
  private async refresh(): Promise<void> {
    let item: Item | undefined;
    try {
      const result = await this.options.client.send(
        new GetItemCommand({ TableName: this.options.tableName, Key: keys.head(), ConsistentRead: true }),
      );
      item = result.Item;
    } catch (error) {
      throw unavailable("the session store is unavailable", error);
    }
    const head = headFromItem(item);
    if (head?.checkpoint === undefined) return;
    if (this.published !== undefined && this.published.size >= head.checkpoint.size) return;
    const reading = readCheckpoint(head.checkpoint.note, this.options.publicKey, this.origin);
    if (!reading.ok) throw new LogCorruptError(`the head's checkpoint: ${reading.message}`);
    const size = reading.checkpoint.size;
    for (const day of daysBetween(this.loadedDay ?? head.firstDay, head.recordedAt.slice(0, 10))) {
      if (this.tree.size >= size) break;
      const items = queryItems(
        this.options.client,
        {
          TableName: this.options.tableName,
          KeyConditionExpression: "pk = :pk AND sk > :after",
          ExpressionAttributeValues: {
            ":pk": keys.index(day, 0).pk,
            ":after": { N: String(this.tree.size) },
          },
          ConsistentRead: true,
        },
        (error) => unavailable("the session store is unavailable", error),
      );
      for await (const item of items) {
        if (this.tree.size >= size) break;
        this.appendIndex(item);
      }
      this.loadedDay = day;
    }
    if (this.tree.size < size || !sameHash(this.tree.root(size), reading.checkpoint.root)) {
      throw new LogCorruptError(`the chain's first ${size} entries do not hash to the head's checkpoint`);
    }
    this.published = reading.checkpoint;
  }

  private appendIndex(item: Item): void {
    const seq = Number(item.sk?.N);
    const digest = item.digest?.S ?? (JSON.parse(item.entry?.S ?? "{}") as { digest?: string }).digest;
    if (seq !== this.tree.size + 1 || digest === undefined) {
      throw new LogCorruptError(`the chain has no entry ${this.tree.size + 1} where ${seq} was found`);
    }
    this.tree.append(entryLeafHash({ digest }));
  }

  private checked(size: number, note: string): SignedCheckpoint {
    const reading = readCheckpoint(note, this.options.publicKey, this.origin);
    if (
      !reading.ok ||
      reading.checkpoint.size !== size ||
      !sameHash(reading.checkpoint.root, this.tree.root(size))
    ) {
      throw new LogCorruptError(`stored checkpoint ${size} names another root (a fork)`);
    }
    return reading.checkpoint;
  }
}
