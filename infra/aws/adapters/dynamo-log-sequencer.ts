// The AWS log's one sequencer: links self-keyed entries into the chain and the Merkle tree, and signs checkpoints.

import type { KeyObject } from "node:crypto";
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  type ScanCommandOutput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { readCheckpoint, type SignedCheckpoint, signCheckpoint } from "#shared/log/checkpoint.ts";
import { entryLeafHash } from "#shared/log/entry-leaf.ts";
import type { CheckpointStore } from "#shared/log/log-ports.ts";
import { sameHash } from "#shared/log/merkle.ts";
import { RangeAccumulator } from "#shared/log/range-proof.ts";
import { LogCorruptError } from "#shared/log/sequencer.ts";
import type { Logger } from "#shared/log.ts";
import { type ChainEntry, type Clock, type Signer, systemClock } from "#shared/ports.ts";
import { linkEntry } from "#shared/sessions/chain.ts";
import { parseChainRecord } from "#shared/sessions/policy-change.ts";
import {
  type ChainHead,
  type EntryItem,
  entryFromItem,
  headFromItem,
  type Item,
  indexItem,
  KEY_PREFIXES,
  keys,
} from "./dynamo-log-items.ts";
import { queryItems } from "./dynamo-query.ts";
import { daysBetween } from "./dynamo-session-store.ts";

/** One record of a DynamoDB stream event as Lambda delivers it (the fields the sequencer reads). */
export interface StreamRecord {
  readonly eventName?: string;
  readonly dynamodb?: { readonly NewImage?: Item; readonly Keys?: Item };
}

/** How the sequencer reaches the table, signs and stores checkpoints. */
export interface DynamoLogSequencerOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly checkpoints: Pick<CheckpointStore, "put" | "get">;
  readonly signer: Signer;
  readonly publicKey: KeyObject;
  readonly origin: string;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/** What one run did. */
export interface SequencerRun {
  /** Entries appended to the chain. */
  readonly sequenced: number;
  /** Entries of the input already in the chain (a retried batch). */
  readonly skipped: number;
  /** Entries appended that the input did not name (earlier versions of its sessions, missing from the stream). */
  readonly recovered: number;
  /** The chain's size (and the signed checkpoint's) after the run. */
  readonly size: number;
}

/** A marker: the last version of an entry partition in the chain, at `seq`, and the one before it (see `committed`). */
interface Marker {
  readonly version: number;
  readonly day: string;
  readonly seq: number;
  readonly previous: number;
}

const CONCURRENCY = 16;

async function eachLimited<T>(items: readonly T[], run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENCY)
    await Promise.all(items.slice(i, i + CONCURRENCY).map(run));
}

/**
 * The single writer of the chain (a Lambda with reserved concurrency 1 on the table's stream). For each batch, in
 * arrival order, it skips entries already sequenced (a retried batch), adds any earlier version of the same
 * session the chain lacks, then assigns `seq`, dates the entry (`recordedAt`, monotonic), links `prev`/`digest`,
 * writes the index items `chain#<day>`/seq and the partitions' markers, and moves the head (size, digest, root,
 * frontier) conditionally on the size it read: the head is the commit point, so a run that fails before it is
 * redone whole by the retry. It then signs the checkpoint of the new size (KMS, note type 0x02), puts it write-once
 * and records it on the head. A head without a tree is a chain written before the sequencer: its entries become
 * the first leaves unchanged.
 */
export class DynamoLogSequencer {
  private readonly clock: Clock;

  constructor(private readonly options: DynamoLogSequencerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Sequences the entry inserts of one stream batch (other records are ignored). */
  handleRecords(records: readonly StreamRecord[]): Promise<SequencerRun> {
    const entries: EntryItem[] = [];
    for (const record of records) {
      if (record.eventName !== "INSERT") continue;
      const entry = entryFromItem(record.dynamodb?.NewImage);
      if (entry !== undefined) entries.push(entry);
    }
    return this.sequence(entries);
  }

  /**
   * Closes gaps the stream cannot replay (entries older than its 24 h retention, e.g. after the mapping was
   * disabled): scans the table for entries no marker covers and sequences them by request time.
   */
  async scanGaps(): Promise<SequencerRun> {
    let total: SequencerRun = { sequenced: 0, skipped: 0, recovered: 0, size: 0 };
    let startKey: Item | undefined;
    do {
      const page = await this.scanGapsPage(startKey);
      total = {
        sequenced: total.sequenced + page.sequenced,
        skipped: total.skipped + page.skipped,
        recovered: total.recovered + page.recovered,
        size: page.size,
      };
      startKey = page.next;
    } while (startKey !== undefined);
    return total;
  }

  /**
   * One bounded step of the gap scan: reads up to `limit` items after `startKey` and sequences the uncovered entries
   * among them by request time (an earlier version of a session the chain lacks is added before it, whichever page
   * holds it). `next` is where the following step starts; absent when the table has been read to its end.
   */
  async scanGapsPage(startKey?: Item, limit = 100): Promise<SequencerRun & { next?: Item }> {
    const page: ScanCommandOutput = await this.options.client.send(
      new ScanCommand({
        TableName: this.options.tableName,
        FilterExpression: "begins_with(pk, :entry) AND attribute_exists(#record)",
        ExpressionAttributeNames: { "#record": "record" },
        ExpressionAttributeValues: { ":entry": { S: KEY_PREFIXES.entry } },
        ConsistentRead: true,
        Limit: limit,
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    const found: EntryItem[] = [];
    for (const item of page.Items ?? []) {
      const entry = entryFromItem(item);
      if (entry !== undefined) found.push(entry);
    }
    found.sort((a, b) =>
      a.requestedAt !== b.requestedAt
        ? a.requestedAt < b.requestedAt
          ? -1
          : 1
        : a.pk !== b.pk
          ? a.pk < b.pk
            ? -1
            : 1
          : a.version - b.version,
    );
    const run = await this.sequence(found);
    return page.LastEvaluatedKey === undefined ? run : { ...run, next: page.LastEvaluatedKey };
  }

  private async sequence(candidates: readonly EntryItem[]): Promise<SequencerRun> {
    let head = headFromItem(await this.getItem(keys.head()));
    if (head !== undefined && head.tree === undefined) head = await this.migrate(head);
    if (head?.tree !== undefined && head.checkpoint?.size !== head.seq) await this.publish(head);
    const committedSize = head?.seq ?? 0;
    const committed = await this.markers(candidates, committedSize);
    const markers = new Map(committed);
    const pending: EntryItem[] = [];
    let skipped = 0;
    let recovered = 0;
    for (const candidate of candidates) {
      const done = markers.get(candidate.pk) ?? 0;
      if (candidate.version <= done) {
        skipped += 1;
        continue;
      }
      for (let version = done + 1; version < candidate.version; version++) {
        const missing = entryFromItem(
          await this.getItem({ pk: { S: candidate.pk }, sk: { N: String(version) } }),
        );
        if (missing === undefined) {
          throw new LogCorruptError(
            `${candidate.pk} version ${version} is missing before ${candidate.version}`,
          );
        }
        pending.push(missing);
        recovered += 1;
      }
      pending.push(candidate);
      markers.set(candidate.pk, candidate.version);
    }
    if (pending.length === 0) return { sequenced: 0, skipped, recovered, size: committedSize };
    const next = await this.append(head, pending, committed);
    await this.publish(next);
    return { sequenced: pending.length, skipped, recovered, size: next.seq };
  }

  /**
   * The committed version of each candidate's partition. A marker counts when the index item at its `seq` is its
   * entry's (a failed run can leave a marker whose `seq` the head never reached, or that a later run gave another
   * entry); otherwise the version it stood at before that run does.
   */
  private async markers(
    candidates: readonly EntryItem[],
    committedSize: number,
  ): Promise<Map<string, number>> {
    const committed = new Map<string, number>();
    const partitions = [...new Set(candidates.map((c) => c.pk))];
    await eachLimited(partitions, async (pk) => {
      const marker = markerOf(await this.getItem(keys.marker(pk)));
      if (marker === undefined) {
        committed.set(pk, 0);
        return;
      }
      const index =
        marker.seq <= committedSize ? await this.getItem(keys.index(marker.day, marker.seq)) : undefined;
      const holds = index?.entryPk?.S === pk && index.entrySk?.N === String(marker.version);
      committed.set(pk, holds ? marker.version : marker.previous);
    });
    return committed;
  }

  private async append(
    head: ChainHead | undefined,
    pending: readonly EntryItem[],
    committed: ReadonlyMap<string, number>,
  ): Promise<ChainHead & { tree: NonNullable<ChainHead["tree"]> }> {
    const accumulator =
      head?.tree === undefined
        ? RangeAccumulator.after(0, [])
        : RangeAccumulator.after(head.seq, head.tree.frontier);
    if (accumulator === undefined) throw new LogCorruptError("the head's frontier does not fit its size");
    let last: Pick<ChainEntry, "seq" | "digest" | "recordedAt"> | undefined = head;
    const indexes: Item[] = [];
    const latest = new Map<string, { version: number; seq: number; day: string }>();
    for (const source of pending) {
      const now = this.clock.now();
      const recordedAt =
        last !== undefined && now.toISOString() < last.recordedAt ? new Date(last.recordedAt) : now;
      const entry = linkEntry(last, recordedAt, parseChainRecord(JSON.parse(source.record)));
      accumulator.push(entryLeafHash(entry));
      indexes.push(indexItem(entry, source));
      latest.set(source.pk, { version: source.version, seq: entry.seq, day: entry.day });
      last = entry;
    }
    const put = (item: Item) =>
      this.options.client.send(new PutItemCommand({ TableName: this.options.tableName, Item: item }));
    await eachLimited(indexes, put);
    await eachLimited([...latest], ([pk, mark]) =>
      put({
        ...keys.marker(pk),
        version: { N: String(mark.version) },
        seq: { N: String(mark.seq) },
        day: { S: mark.day },
        previous: { N: String(committed.get(pk) ?? 0) },
      }),
    );
    const tail = last as Pick<ChainEntry, "seq" | "digest" | "recordedAt">;
    const tree = { root: accumulator.root(), frontier: accumulator.frontier() };
    await this.moveHead(head, tail, tree);
    return {
      seq: tail.seq,
      digest: tail.digest,
      recordedAt: tail.recordedAt,
      firstDay: head?.firstDay ?? tail.recordedAt.slice(0, 10),
      tree,
      ...(head?.checkpoint === undefined ? {} : { checkpoint: head.checkpoint }),
    };
  }

  /** Moves the head from the size read to `tail` (a head moved meanwhile fails the run; the retry redoes it). */
  private async moveHead(
    head: ChainHead | undefined,
    tail: Pick<ChainEntry, "seq" | "digest" | "recordedAt">,
    tree: NonNullable<ChainHead["tree"]>,
  ): Promise<void> {
    await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: keys.head(),
        UpdateExpression:
          "SET #seq = :seq, #digest = :digest, #recordedAt = :recordedAt, #root = :root, #frontier = :frontier, #firstDay = if_not_exists(#firstDay, :day)",
        ConditionExpression: head === undefined ? "attribute_not_exists(pk)" : "#seq = :expected",
        ExpressionAttributeNames: {
          "#seq": "seq",
          "#digest": "digest",
          "#recordedAt": "recordedAt",
          "#root": "root",
          "#frontier": "frontier",
          "#firstDay": "firstDay",
        },
        ExpressionAttributeValues: {
          ":seq": { N: String(tail.seq) },
          ":digest": { S: tail.digest },
          ":recordedAt": { S: tail.recordedAt },
          ":root": { B: tree.root },
          ":frontier": { L: tree.frontier.map((hash) => ({ B: hash })) },
          ":day": { S: tail.recordedAt.slice(0, 10) },
          ...(head === undefined ? {} : { ":expected": { N: String(head.seq) } }),
        },
      }),
    );
  }

  /** Signs the checkpoint of the head's size, stores it write-once and records it on the head. */
  private async publish(head: ChainHead & { tree?: ChainHead["tree"] }): Promise<SignedCheckpoint> {
    const tree = head.tree;
    if (tree === undefined) throw new LogCorruptError("no tree to checkpoint");
    const signed = await signCheckpoint(
      { origin: this.options.origin, size: head.seq, root: tree.root },
      this.options.signer,
      this.options.publicKey,
    );
    let checkpoint = signed;
    if (!(await this.options.checkpoints.put(head.seq, signed.note))) {
      const stored = readCheckpoint(
        (await this.options.checkpoints.get(head.seq)) ?? "",
        this.options.publicKey,
        this.options.origin,
      );
      if (!stored.ok || !sameHash(stored.checkpoint.root, tree.root)) {
        throw new LogCorruptError(`the stored checkpoint ${head.seq} names another root (a fork)`);
      }
      checkpoint = stored.checkpoint;
    }
    try {
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: keys.head(),
          UpdateExpression: "SET #checkpoint = :note, #checkpointSize = :size",
          ConditionExpression: "#seq = :size",
          ExpressionAttributeNames: {
            "#checkpoint": "checkpoint",
            "#checkpointSize": "checkpointSize",
            "#seq": "seq",
          },
          ExpressionAttributeValues: { ":note": { S: checkpoint.note }, ":size": { N: String(head.seq) } },
        }),
      );
    } catch (error) {
      // A later run moved the head past this size; its own checkpoint supersedes this one on the head.
      if (!(error instanceof Error && error.name === "ConditionalCheckFailedException")) throw error;
    }
    return checkpoint;
  }

  /**
   * The first run over a chain written before the sequencer: its entries (seq, prev, digest kept) become leaves
   * 0…n−1, and the head gets the tree (the first checkpoint follows).
   */
  private async migrate(head: ChainHead): Promise<ChainHead> {
    const accumulator = RangeAccumulator.after(0, []) as RangeAccumulator;
    for (const day of daysBetween(head.firstDay, head.recordedAt.slice(0, 10))) {
      const items = queryItems(
        this.options.client,
        {
          TableName: this.options.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": keys.index(day, 0).pk },
          ConsistentRead: true,
        },
        (error) => (error instanceof Error ? error : new Error(String(error))),
      );
      for await (const item of items) {
        const seq = Number(item.sk?.N);
        if (seq > head.seq) break;
        const digest = item.digest?.S ?? (JSON.parse(item.entry?.S ?? "{}") as { digest?: string }).digest;
        if (seq !== accumulator.size + 1 || digest === undefined) {
          throw new LogCorruptError(`the chain has no entry ${accumulator.size + 1} where ${seq} was found`);
        }
        accumulator.push(entryLeafHash({ digest }));
      }
    }
    if (accumulator.size !== head.seq) {
      throw new LogCorruptError(`the head names ${head.seq} entries; the chain holds ${accumulator.size}`);
    }
    const tree = { root: accumulator.root(), frontier: accumulator.frontier() };
    await this.moveHead(head, head, tree);
    this.options.logger.info("the chain written before the sequencer became the log's first leaves", {
      entries: head.seq,
    });
    const { checkpoint: _stale, ...rest } = head;
    return { ...rest, tree };
  }

  private async getItem(key: Item): Promise<Item | undefined> {
    const result = await this.options.client.send(
      new GetItemCommand({ TableName: this.options.tableName, Key: key, ConsistentRead: true }),
    );
    return result.Item;
  }
}

function markerOf(item: Item | undefined): Marker | undefined {
  if (item?.version?.N === undefined || item.seq?.N === undefined) return undefined;
  return {
    version: Number(item.version.N),
    day: item.day?.S ?? "",
    seq: Number(item.seq.N),
    previous: Number(item.previous?.N ?? "0"),
  };
}
