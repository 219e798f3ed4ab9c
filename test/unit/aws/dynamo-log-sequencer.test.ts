// The AWS log: conflict-free writes, the stream sequencer (retried batches, a failed run, gaps, migration), proofs.

import { createPublicKey } from "node:crypto";
import { DynamoDBClient, UpdateItemCommand, type UpdateItemCommandInput } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { keys } from "#infra/aws/adapters/dynamo-log-items.ts";
import { DynamoSessionStore } from "#infra/aws/adapters/dynamo-session-store.ts";
import { DynamoTransparencyLog } from "#infra/aws/adapters/dynamo-transparency-log.ts";
import { readCheckpoint } from "#shared/log/checkpoint.ts";
import { derivedLeafHash, entryIndex } from "#shared/log/entry-leaf.ts";
import { verifyConsistency, verifyInclusion } from "#shared/log/merkle.ts";
import { silentLogger } from "#shared/log.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { linkEntry, verifyChain } from "#shared/sessions/chain.ts";
import { transition } from "#shared/sessions/record.ts";
import { sampleRecord } from "#test/support/records.ts";
import { FakeTable } from "#test/unit/aws/support/fake-dynamo.ts";
import { type TestSequencer, testSequencer, wireTable } from "#test/unit/aws/support/sequenced-table.ts";

const TABLE = "phigate-sessions";
const dynamo = mockClient(DynamoDBClient);
let table: FakeTable;
let t = Date.parse("2026-03-01T23:59:59.000Z");
const clock = {
  now: () => {
    t += 7;
    return new Date(t);
  },
};

function store(): DynamoSessionStore {
  return new DynamoSessionStore({
    client: new DynamoDBClient({ region: "eu-west-1" }),
    tableName: TABLE,
    logger: silentLogger,
    idempotencyTtlSeconds: 3600,
    clock,
    sleep: async () => {},
  });
}

async function collect(s: DynamoSessionStore): Promise<ChainEntry[]> {
  const out: ChainEntry[] = [];
  for await (const entry of s.entries("0000-01-01", "9999-12-31")) out.push(entry);
  return out;
}

/** Writes `n` sessions from three stores at once, each created then completed. */
async function writeSessions(n: number): Promise<void> {
  const writers = [store(), store(), store()];
  const records = Array.from({ length: n }, () => sampleRecord());
  await Promise.all(
    records.map((r, i) => writers[i % 3]?.create(r, { scope: r.principal.key, key: `k${i}` })),
  );
  await Promise.all(
    records.map((r, i) => writers[(i + 1) % 3]?.update(transition(r, "completed", clock.now()))),
  );
}

async function head(seq: TestSequencer) {
  const key = await seq.signer.publicKey();
  const item = table.getItem({ TableName: TABLE, Key: keys.head() }).Item;
  const reading = readCheckpoint(item?.checkpoint?.S ?? "", createPublicKey(key.pem));
  if (!reading.ok) throw new Error(reading.message);
  return { seq: Number(item?.seq?.N), checkpoint: reading.checkpoint };
}

beforeEach(() => {
  dynamo.reset();
  table = new FakeTable();
  wireTable(dynamo, table);
});

describe("writes keyed by their session", () => {
  it("write every version with no conditional failure, and the sequencer links them into one verified chain", async () => {
    const seq = await testSequencer(table, TABLE, clock);
    await writeSessions(30);
    expect(table.conflicts).toBe(0);
    expect(await collect(store())).toEqual([]);
    const runs = await seq.drain(7);
    expect(runs.reduce((n, r) => n + r.sequenced, 0)).toBe(60);
    const entries = await collect(store());
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(verifyChain(entries)).toEqual([]);
    const { checkpoint } = await head(seq);
    expect(checkpoint.size).toBe(60);
    const log = await DynamoTransparencyLog.create({
      client: new DynamoDBClient({ region: "eu-west-1" }),
      tableName: TABLE,
      signer: seq.signer,
    });
    const covering = await log.covering(60);
    for (const entry of entries) {
      const proof = log.inclusionProof(entryIndex(entry), covering.size);
      expect(
        verifyInclusion(entryIndex(entry), covering.size, derivedLeafHash(entry), proof, covering.root),
      ).toBe(true);
    }
    const first = readCheckpoint(
      seq.notes.get(runs[0]?.size ?? 0) ?? "",
      createPublicKey((await seq.signer.publicKey()).pem),
    );
    if (!first.ok) throw new Error(first.message);
    expect(
      verifyConsistency(
        first.checkpoint.size,
        60,
        log.consistencyProof(first.checkpoint.size, 60),
        first.checkpoint.root,
        covering.root,
      ),
    ).toBe(true);
  });

  it("reads a session's latest record through its entry item", async () => {
    const record = sampleRecord();
    await store().create(record);
    const done = transition(record, "completed", clock.now());
    await store().update(done);
    expect(await store().get(record.sessionId)).toEqual(done);
    await expect(store().update(done)).rejects.toMatchObject({ code: "version_conflict" });
  });
});

describe("the sequencer", () => {
  it("skips a retried batch whole: nothing is sequenced twice", async () => {
    const seq = await testSequencer(table, TABLE, clock);
    await writeSessions(5);
    await seq.drain();
    const before = await head(seq);
    const again = await seq.sequencer.handleRecords(table.stream);
    expect(again).toMatchObject({ sequenced: 0, skipped: 10, size: 10 });
    expect(await head(seq)).toEqual(before);
    expect(verifyChain(await collect(store()))).toEqual([]);
  });

  it("redoes a run that failed before moving the head, after another run took its place", async () => {
    const seq = await testSequencer(table, TABLE, clock);
    await writeSessions(3);
    const owner = table.stream[0]?.dynamodb?.NewImage?.pk?.S;
    const firstBatch = table.stream.filter((r) => r.dynamodb?.NewImage?.pk?.S === owner);
    const otherShard = table.stream.filter((r) => r.dynamodb?.NewImage?.pk?.S !== owner);
    let failed = false;
    dynamo.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
      if (!failed && input.Key?.pk?.S === "chain#head") {
        failed = true;
        throw Object.assign(new Error("throttled"), { name: "ThrottlingException" });
      }
      return table.updateItem(input);
    });
    await expect(seq.sequencer.handleRecords(firstBatch)).rejects.toThrow("throttled");
    // Another shard's batch commits first; the failed batch's markers now point at other entries' seq.
    expect(await seq.sequencer.handleRecords(otherShard)).toMatchObject({ sequenced: 4, size: 4 });
    expect(await seq.sequencer.handleRecords(firstBatch)).toMatchObject({ sequenced: 2, skipped: 0 });
    const entries = await collect(store());
    expect(entries).toHaveLength(6);
    expect(verifyChain(entries)).toEqual([]);
    expect(new Set(entries.map((e) => JSON.stringify(e.record))).size).toBe(6);
    expect((await head(seq)).checkpoint.size).toBe(6);
  });

  it("closes a gap by scanning for entries the stream never delivered, and adds a missed earlier version", async () => {
    const seq = await testSequencer(table, TABLE, clock);
    await writeSessions(4);
    const lateVersion = table.stream.filter((r) => r.dynamodb?.NewImage?.sk?.N === "2").slice(0, 1);
    const recovered = await seq.sequencer.handleRecords(lateVersion);
    expect(recovered).toMatchObject({ sequenced: 2, recovered: 1 });
    const scan = await seq.sequencer.scanGaps();
    expect(scan).toMatchObject({ sequenced: 6, skipped: 2, size: 8 });
    expect(await seq.sequencer.scanGaps()).toMatchObject({ sequenced: 0, skipped: 8 });
    const entries = await collect(store());
    expect(verifyChain(entries)).toEqual([]);
    expect((await head(seq)).checkpoint.size).toBe(8);
  });

  it("closes the same gap one bounded page at a time, as the handler does after each batch", async () => {
    const seq = await testSequencer(table, TABLE, clock);
    await writeSessions(4);
    let step = await seq.sequencer.scanGapsPage(undefined, 1);
    let sequenced = step.sequenced;
    let pages = 1;
    while (step.next !== undefined) {
      step = await seq.sequencer.scanGapsPage(step.next, 1);
      sequenced += step.sequenced;
      pages += 1;
    }
    expect(pages).toBeGreaterThan(1);
    expect(sequenced).toBe(8);
    const entries = await collect(store());
    expect(entries).toHaveLength(8);
    expect(verifyChain(entries)).toEqual([]);
    expect((await head(seq)).checkpoint.size).toBe(8);
  });

  it("migrates a chain written before it: the old entries are the first leaves, unchanged, and the chain continues", async () => {
    const old: ChainEntry[] = [];
    let last: ChainEntry | undefined;
    for (let i = 0; i < 5; i++) {
      last = linkEntry(last, new Date(Date.parse("2026-02-27T12:00:00Z") + i * 86_400_000), sampleRecord());
      old.push(last);
      table.items.set(`chain#${last.day}|${last.seq}`, {
        ...keys.index(last.day, last.seq),
        entry: { S: JSON.stringify(last) },
      });
    }
    table.items.set("chain#head|0", {
      ...keys.head(),
      seq: { N: "5" },
      digest: { S: last?.digest ?? "" },
      recordedAt: { S: last?.recordedAt ?? "" },
      firstDay: { S: "2026-02-27" },
    });
    const seq = await testSequencer(table, TABLE, clock);
    await writeSessions(2);
    await seq.drain();
    const entries = await collect(store());
    expect(entries.slice(0, 5)).toEqual(old);
    expect(entries).toHaveLength(9);
    expect(verifyChain(entries)).toEqual([]);
    expect((await head(seq)).checkpoint.size).toBe(9);
    expect([...seq.notes.keys()]).toEqual([5, 9]);
  });
});
