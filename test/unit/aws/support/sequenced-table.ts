// A mocked DynamoDB client on a FakeTable, and the log's sequencer fed from the table's stream as Lambda would.

import { createPublicKey } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { AwsClientStub } from "aws-sdk-client-mock";
import { DynamoLogSequencer, type SequencerRun } from "#infra/aws/adapters/dynamo-log-sequencer.ts";
import { LocalSigner } from "#infra/local/adapters/local-signer.ts";
import { logOrigin } from "#shared/log/checkpoint.ts";
import { silentLogger } from "#shared/log.ts";
import type { Clock } from "#shared/ports.ts";
import type { FakeTable } from "./fake-dynamo.ts";

/** Answers every command the stores and the sequencer send from `table`. */
export function wireTable(dynamo: AwsClientStub<DynamoDBClient>, table: FakeTable): void {
  dynamo.on(GetItemCommand).callsFake((input) => table.getItem(input));
  dynamo.on(PutItemCommand).callsFake((input) => table.putItem(input));
  dynamo.on(UpdateItemCommand).callsFake((input) => table.updateItem(input));
  dynamo.on(QueryCommand).callsFake((input) => table.query(input));
  dynamo.on(ScanCommand).callsFake((input) => table.scan(input));
  dynamo.on(TransactWriteItemsCommand).callsFake((input) => table.transactWrite(input));
}

/** A sequencer over `table`, its signer, its checkpoint objects, and `drain` feeding it the stream not yet fed. */
export interface TestSequencer {
  readonly sequencer: DynamoLogSequencer;
  readonly signer: LocalSigner;
  readonly notes: Map<number, string>;
  /** Feeds every stream record since the last drain in batches of `batch`; returns each run. */
  drain(batch?: number): Promise<SequencerRun[]>;
}

/** Builds a sequencer on `table` (a fresh P-256 key, checkpoints in memory). */
export async function testSequencer(
  table: FakeTable,
  tableName: string,
  clock?: Clock,
): Promise<TestSequencer> {
  const signer = await LocalSigner.open(join(await mkdtemp(join(tmpdir(), "phigate-seq-")), "keys"));
  const key = await signer.publicKey();
  const notes = new Map<number, string>();
  const sequencer = new DynamoLogSequencer({
    client: new DynamoDBClient({ region: "eu-west-1" }),
    tableName,
    signer,
    publicKey: createPublicKey(key.pem),
    origin: logOrigin(key.fingerprint),
    logger: silentLogger,
    checkpoints: {
      put: async (size, note) => {
        if (notes.has(size)) return false;
        notes.set(size, note);
        return true;
      },
      get: async (size) => notes.get(size),
    },
    ...(clock === undefined ? {} : { clock }),
  });
  let cursor = 0;
  return {
    sequencer,
    signer,
    notes,
    drain: async (batch = 100) => {
      const runs: SequencerRun[] = [];
      while (cursor < table.stream.length) {
        const records = table.stream.slice(cursor, cursor + batch);
        runs.push(await sequencer.handleRecords(records));
        cursor += records.length;
      }
      return runs;
    },
  };
}
