// The DynamoDB session store: transaction shapes, head contention, idempotency, version conflicts, chain verification.

import {
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoSessionStore, daysBetween } from "#infra/aws/adapters/dynamo-session-store.ts";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import { silentLogger } from "#shared/log.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { transition } from "#shared/sessions/record.ts";
import { sampleRecord } from "#test/support/records.ts";
import { FakeTable } from "#test/unit/aws/support/fake-dynamo.ts";
import { testSequencer, wireTable } from "#test/unit/aws/support/sequenced-table.ts";

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
  wireTable(dynamo, table);
});

describe("DynamoSessionStore writes", () => {
  it("creates with one transaction of the session's own items: the entry, the latest-version item, the idempotency item", async () => {
    const record = sampleRecord({}, new Date("2026-03-01T10:00:00.000Z"));
    const result = await store().create(record, { scope: record.principal.key, key: "k-1" });
    expect(result).toEqual({ created: true, record });
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(0);
    const [tx] = transactions();
    expect(tx?.TransactItems).toEqual([
      {
        Put: {
          TableName: TABLE,
          Item: {
            pk: { S: `entry#${record.sessionId}` },
            sk: { N: "1" },
            requestedAt: { S: "2026-03-01T10:00:00.000Z" },
            record: { S: JSON.stringify(record) },
          },
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
            runningPk: { S: "running" },
            runningAt: { S: "2026-03-01T10:00:00.000Z" },
          },
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

  it("updates conditionally on the previous version, touching no item another session writes", async () => {
    const s = store();
    const record = sampleRecord();
    await s.create(record);
    await s.update(transition(record, "completed", new Date()));
    const [, update] = transactions();
    expect(update?.TransactItems?.map((i) => i.Put?.Item?.pk?.S)).toEqual([
      `entry#${record.sessionId}`,
      `session#${record.sessionId}`,
    ]);
    expect(update?.TransactItems?.[1]?.Put?.ConditionExpression).toBe("#version = :previous");
    expect(table.items.has("chain#head|0")).toBe(false);
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
    const s = store();
    const seq = await testSequencer(table, TABLE, {
      now: () => {
        t += 86_400_000;
        return new Date(t);
      },
    });
    for (let i = 0; i < 5; i++) {
      await s.create(sampleRecord());
      await seq.drain();
    }
    dynamo.resetHistory();
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
    const seq = await testSequencer(table, TABLE, { now: () => new Date("2026-03-01T10:00:00.000Z") });
    for (let i = 0; i < 5; i++) await s.create(sampleRecord());
    await seq.drain();
    dynamo.resetHistory();
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
