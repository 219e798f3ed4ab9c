// 50 concurrent queries on the AWS store: no conditional failure on the request path, and write units before/after.

import { createPublicKey } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoSessionStore } from "#infra/aws/adapters/dynamo-session-store.ts";
import { DynamoTransparencyLog } from "#infra/aws/adapters/dynamo-transparency-log.ts";
import { readCheckpoint } from "#shared/log/checkpoint.ts";
import { derivedLeafHash, entryIndex } from "#shared/log/entry-leaf.ts";
import { verifyConsistency, verifyInclusion } from "#shared/log/merkle.ts";
import { silentLogger } from "#shared/log.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { verifyChain } from "#shared/sessions/chain.ts";
import { transition } from "#shared/sessions/record.ts";
import { sampleRecord } from "#test/support/records.ts";
import { FakeTable, itemBytes } from "#test/unit/aws/support/fake-dynamo.ts";
import { testSequencer, wireTable } from "#test/unit/aws/support/sequenced-table.ts";

const TABLE = "phigate-sessions";
const QUERIES = 50;
const dynamo = mockClient(DynamoDBClient);
let table: FakeTable;

const store = () =>
  new DynamoSessionStore({
    client: new DynamoDBClient({ region: "eu-west-1" }),
    tableName: TABLE,
    logger: silentLogger,
    idempotencyTtlSeconds: 3600,
    sleep: async () => {},
  });

/** What the store before the sequencer wrote per version: head 2, entry and session items whole, transactionally. */
function unitsBefore(entries: readonly ChainEntry[]): number {
  const kb = (n: number) => Math.ceil(n / 1024);
  let units = 0;
  for (const entry of entries) {
    const entryItem = {
      pk: { S: `chain#${entry.day}` },
      sk: { N: String(entry.seq) },
      entry: { S: JSON.stringify(entry) },
    };
    const sessionItem = {
      pk: { S: "session#ses_00000000000000000000000000" },
      sk: { N: "0" },
      version: { N: "1" },
      status: { S: "completed" },
      seq: { N: String(entry.seq) },
      day: { S: entry.day },
      record: { S: JSON.stringify(entry.record) },
    };
    units += 2 * 1 + 2 * kb(itemBytes(entryItem)) + 2 * kb(itemBytes(sessionItem));
    if ("version" in entry.record && entry.record.version === 1) units += 2;
  }
  return units;
}

beforeEach(() => {
  dynamo.reset();
  table = new FakeTable();
  wireTable(dynamo, table);
});

describe("50 concurrent queries on the AWS store", () => {
  it("meet no conditional failure, sequence into one chain whose proofs verify, and cost fewer write units", async () => {
    const seq = await testSequencer(table, TABLE);
    const records = Array.from({ length: QUERIES }, () => sampleRecord());
    // Each query is its own function container: a create (idempotent), then the final version.
    await Promise.all(
      records.map(async (record, i) => {
        const s = store();
        await s.create(record, { scope: record.principal.key, key: `q${i}` });
        await s.update(transition(record, "completed", new Date()));
      }),
    );
    expect(table.conflicts).toBe(0);
    expect(table.transactions).toBe(2 * QUERIES);
    const requestUnits = table.writeUnits.transactional;
    const runs = await seq.drain(90);
    const sequencerUnits = table.writeUnits.single;
    const entries: ChainEntry[] = [];
    for await (const entry of store().entries("0000-01-01", "9999-12-31")) entries.push(entry);
    expect(entries).toHaveLength(2 * QUERIES);
    expect(verifyChain(entries)).toEqual([]);

    const key = createPublicKey((await seq.signer.publicKey()).pem);
    const log = await DynamoTransparencyLog.create({
      client: new DynamoDBClient({ region: "eu-west-1" }),
      tableName: TABLE,
      signer: seq.signer,
    });
    const final = await log.covering(entries.length);
    for (const entry of entries) {
      const proof = log.inclusionProof(entryIndex(entry), final.size);
      expect(verifyInclusion(entryIndex(entry), final.size, derivedLeafHash(entry), proof, final.root)).toBe(
        true,
      );
    }
    const sizes = [...seq.notes.keys()].sort((a, b) => a - b);
    for (let i = 1; i < sizes.length; i++) {
      const [a, b] = [sizes[i - 1] as number, sizes[i] as number].map((size) => {
        const reading = readCheckpoint(seq.notes.get(size) ?? "", key, log.origin);
        if (!reading.ok) throw new Error(reading.message);
        return reading.checkpoint;
      });
      if (a === undefined || b === undefined) throw new Error("no checkpoint");
      expect(verifyConsistency(a.size, b.size, log.consistencyProof(a.size, b.size), a.root, b.root)).toBe(
        true,
      );
    }

    const before = unitsBefore(entries) / QUERIES;
    const after = (requestUnits + sequencerUnits) / QUERIES;
    const recordKb = entries.reduce((n, e) => n + JSON.stringify(e.record).length, 0) / entries.length / 1024;
    console.log(
      `[aws-log] ${QUERIES} concurrent queries: ${table.conflicts} conditional failures; record ≈ ${recordKb.toFixed(2)} KB; ` +
        `WCU per query before ${before.toFixed(1)}, after ${after.toFixed(1)} ` +
        `(request path ${(requestUnits / QUERIES).toFixed(1)}, sequencer ${(sequencerUnits / QUERIES).toFixed(1)} ` +
        `in ${runs.length} batches, ${sizes.length} checkpoints)`,
    );
    expect(after).toBeLessThan(before);
  });
});
