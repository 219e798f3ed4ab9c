// The DynamoDB session store: transaction shapes, head contention, idempotency, version conflicts, chain verification.

import {
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  InternalServerError,
  QueryCommand,
  type QueryCommandInput,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoSessionStore, daysBetween, HEAD_PK } from "#infra/aws/adapters/dynamo-session-store.ts";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import { silentLogger } from "#shared/log.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { CHAIN_GENESIS, verifyChain } from "#shared/sessions/chain.ts";
import { transition } from "#shared/sessions/record.ts";
import { sampleRecord } from "#test/support/records.ts";
import { FakeTable } from "#test/unit/aws/support/fake-dynamo.ts";

const TABLE = "phigate-sessions";
const dynamo = mockClient(DynamoDBClient);
let table: FakeTable;

function store(options: { now?: () => Date; maxAttempts?: number } = {}): DynamoSessionStore {
  return new DynamoSessionStore({
    client: new DynamoDBClient({ region: "eu-west-1" }),
    tableName: TABLE,
    logger: silentLogger,
    idempotencyTtlSeconds: 3600,
    clock: { now: options.now ?? (() => new Date("2026-03-01T10:00:00.000Z")) },
    sleep: async () => {},
    random: () => 0.5,
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  });
}

function transactions(): TransactWriteItemsCommandInput[] {
  return dynamo.commandCalls(TransactWriteItemsCommand).map((c) => c.args[0].input);
}

async function collect(iterable: AsyncIterable<ChainEntry>): Promise<ChainEntry[]> {
  const out: ChainEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

beforeEach(() => {
  dynamo.reset();
  table = new FakeTable();
  dynamo.on(GetItemCommand).callsFake((input: GetItemCommandInput) => table.getItem(input));
  dynamo.on(QueryCommand).callsFake((input: QueryCommandInput) => table.query(input));
  dynamo
    .on(TransactWriteItemsCommand)
    .callsFake((input: TransactWriteItemsCommandInput) => table.transactWrite(input));
});

describe("DynamoSessionStore writes", () => {
  it("creates with one transaction: head from nothing to 1, the entry, the session and the idempotency item", async () => {
    const record = sampleRecord({}, new Date("2026-03-01T10:00:00.000Z"));
    const result = await store().create(record, { scope: record.principal.key, key: "k-1" });
    expect(result).toEqual({ created: true, record });
    expect(dynamo.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: { S: HEAD_PK }, sk: { N: "0" } },
      ConsistentRead: true,
    });
    const [tx] = transactions();
    const entry = JSON.parse(table.items.get("chain#2026-03-01|1")?.entry?.S ?? "null") as ChainEntry;
    expect(entry).toMatchObject({ seq: 1, day: "2026-03-01", prev: CHAIN_GENESIS, record });
    expect(tx?.TransactItems).toEqual([
      {
        Update: {
          TableName: TABLE,
          Key: { pk: { S: HEAD_PK }, sk: { N: "0" } },
          UpdateExpression:
            "SET #seq = :next, #digest = :digest, #recordedAt = :recordedAt, #firstDay = if_not_exists(#firstDay, :day)",
          ConditionExpression: "attribute_not_exists(pk)",
          ExpressionAttributeNames: {
            "#seq": "seq",
            "#digest": "digest",
            "#recordedAt": "recordedAt",
            "#firstDay": "firstDay",
          },
          ExpressionAttributeValues: {
            ":next": { N: "1" },
            ":day": { S: "2026-03-01" },
            ":digest": { S: entry.digest },
            ":recordedAt": { S: "2026-03-01T10:00:00.000Z" },
          },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        },
      },
      {
        Put: {
          TableName: TABLE,
          Item: { pk: { S: "chain#2026-03-01" }, sk: { N: "1" }, entry: { S: JSON.stringify(entry) } },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
      {
        Put: {
          TableName: TABLE,
          Item: {
            pk: { S: `session#${record.sessionId}` },
            sk: { N: "0" },
            version: { N: "1" },
            status: { S: "running" },
            seq: { N: "1" },
            day: { S: "2026-03-01" },
            record: { S: JSON.stringify(record) },
            runningPk: { S: "running" },
            runningAt: { S: "2026-03-01T10:00:00.000Z" },
          },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
      {
        Put: {
          TableName: TABLE,
          Item: {
            pk: { S: `idem#${record.principal.key}#k-1` },
            sk: { N: "0" },
            sessionId: { S: record.sessionId },
            expiresAt: { N: String(Date.parse("2026-03-01T10:00:00.000Z") / 1000 + 3600) },
          },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        },
      },
    ]);
  });

  it("updates conditionally on the previous version, linking after the cached head without re-reading it", async () => {
    const s = store();
    const record = sampleRecord();
    await s.create(record);
    const done = transition(record, "completed", new Date("2026-03-01T10:00:01.000Z"));
    expect(await s.update(done)).toEqual(done);
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(1);
    const update = transactions()[1]?.TransactItems;
    expect(update?.[0]?.Update).toMatchObject({
      ConditionExpression: "#seq = :expected",
      ExpressionAttributeValues: { ":expected": { N: "1" }, ":next": { N: "2" } },
    });
    expect(update?.[2]?.Put).toMatchObject({
      ConditionExpression: "#version = :previous",
      ExpressionAttributeNames: { "#version": "version" },
      ExpressionAttributeValues: { ":previous": { N: "1" } },
    });
    expect(update).toHaveLength(3);
    expect((await s.get(record.sessionId))?.status).toBe("completed");
  });

  it("relinks after the head another writer moved (from the cancellation's ALL_OLD item) and retries", async () => {
    const a = store();
    const b = store();
    await a.create(sampleRecord());
    await b.create(sampleRecord());
    const third = sampleRecord();
    await a.create(third);
    expect(transactions()).toHaveLength(4);
    const retried = transactions()[3]?.TransactItems?.[0]?.Update;
    expect(retried?.ExpressionAttributeValues?.[":expected"]).toEqual({ N: "2" });
    expect(retried?.ExpressionAttributeValues?.[":next"]).toEqual({ N: "3" });
    const entries = await collect(a.entries("2026-03-01", "2026-03-01"));
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(verifyChain(entries)).toEqual([]);
  });

  it("keeps one gapless chain that verifies under interleaved writers, across UTC days", async () => {
    let t = Date.parse("2026-03-01T23:59:59.990Z");
    const now = () => {
      t += 1;
      return new Date(t);
    };
    const writers = [store({ now }), store({ now }), store({ now })];
    const records = Array.from({ length: 30 }, () => sampleRecord());
    await Promise.all(records.map((r, i) => (writers[i % 3] as DynamoSessionStore).create(r)));
    await Promise.all(
      records.map((r, i) =>
        (writers[(i + 1) % 3] as DynamoSessionStore).update(transition(r, "completed", now())),
      ),
    );
    const entries = await collect((writers[0] as DynamoSessionStore).entries("0000-00-00", "9999-12-31"));
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(new Set(entries.map((e) => e.day))).toEqual(new Set(["2026-03-01", "2026-03-02"]));
    expect(verifyChain(entries)).toEqual([]);
    expect(table.transactions).toBeGreaterThan(60);
  });

  it("returns the existing record for a repeated idempotency key (scoped per principal)", async () => {
    const first = sampleRecord();
    const ref = { scope: first.principal.key, key: "retry-1" };
    await store().create(first, ref);
    const again = await store().create(sampleRecord(), ref);
    expect(again).toEqual({ created: false, record: first });
    expect((await store().create(sampleRecord(), { scope: "someone-else", key: "retry-1" })).created).toBe(
      true,
    );
  });

  it("refuses stale updates and duplicate creates with version_conflict", async () => {
    const s = store();
    const record = sampleRecord();
    await s.create(record);
    await expect(s.create(record)).rejects.toMatchObject({ code: "version_conflict" });
    const done = transition(record, "completed", new Date());
    await s.update(done);
    await expect(store().update(done)).rejects.toBeInstanceOf(ConflictError);
    await expect(s.create({ ...sampleRecord(), version: 2 })).rejects.toBeInstanceOf(ConflictError);
  });

  it("gives up with store_unavailable after bounded attempts when the head keeps moving", async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(
      new TransactionCanceledException({
        message: "cancelled",
        $metadata: {},
        CancellationReasons: [{ Code: "TransactionConflict" }, { Code: "None" }, { Code: "None" }],
      }),
    );
    await expect(store({ maxAttempts: 3 }).create(sampleRecord())).rejects.toMatchObject({
      code: "store_unavailable",
    });
    expect(transactions()).toHaveLength(3);
  });

  it("maps service errors to store_unavailable", async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(new InternalServerError({ message: "boom", $metadata: {} }));
    await expect(store().create(sampleRecord())).rejects.toBeInstanceOf(UnavailableError);
    dynamo.on(GetItemCommand).rejects(new InternalServerError({ message: "boom", $metadata: {} }));
    await expect(store().get(sampleRecord().sessionId)).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe("DynamoSessionStore reads", () => {
  it("gets the latest version with a consistent read, and undefined for an unknown session", async () => {
    const record = sampleRecord();
    await store().create(record);
    expect(await store().get(record.sessionId)).toEqual(record);
    expect(await store().get("ses_00000000000000000000000000")).toBeUndefined();
    expect(dynamo.commandCalls(GetItemCommand).at(-1)?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: { S: "session#ses_00000000000000000000000000" }, sk: { N: "0" } },
      ConsistentRead: true,
    });
  });

  it("queries day partitions in order, following LastEvaluatedKey, within the chain's first and last day", async () => {
    let t = Date.parse("2026-03-01T12:00:00.000Z");
    const s = store({
      now: () => {
        t += 86_400_000;
        return new Date(t);
      },
    });
    for (let i = 0; i < 5; i++) await s.create(sampleRecord());
    const entries = await collect(s.entries("2026-03-03", "2026-12-31"));
    expect(entries.map((e) => e.day)).toEqual(["2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"]);
    const queries = dynamo.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries[0]).toEqual({
      TableName: TABLE,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": { S: "chain#2026-03-03" } },
      ScanIndexForward: true,
      ConsistentRead: true,
    });
    expect(queries.map((q) => q.ExpressionAttributeValues?.[":pk"]?.S)).toEqual([
      "chain#2026-03-03",
      "chain#2026-03-04",
      "chain#2026-03-05",
      "chain#2026-03-06",
    ]);
    expect(await collect(store().entries("2027-01-01", "2027-01-02"))).toEqual([]);
  });

  it("follows pagination inside one day", async () => {
    const s = store();
    for (let i = 0; i < 5; i++) await s.create(sampleRecord());
    const entries = await collect(s.entries("2026-03-01", "2026-03-01"));
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    const starts = dynamo.commandCalls(QueryCommand).map((c) => c.args[0].input.ExclusiveStartKey?.sk?.N);
    expect(starts).toEqual([undefined, "2", "4"]);
  });

  it("lists the days of a range", () => {
    expect(daysBetween("2024-02-28", "2024-03-01")).toEqual(["2024-02-28", "2024-02-29", "2024-03-01"]);
    expect(daysBetween("2024-03-02", "2024-03-01")).toEqual([]);
  });
});
