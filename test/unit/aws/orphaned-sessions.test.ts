// The keeper's orphan sweep on the DynamoDB session store: the sparse running index, the failure and its chain record.

import { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoSessionStore, RUNNING_INDEX } from "#infra/aws/adapters/dynamo-session-store.ts";
import { silentLogger } from "#shared/log.ts";
import { verifyChain } from "#shared/sessions/chain.ts";
import { failOrphanedSessions } from "#shared/sessions/orphans.ts";
import { transition } from "#shared/sessions/record.ts";
import { sampleRecord } from "#test/support/records.ts";
import { FakeTable } from "#test/unit/aws/support/fake-dynamo.ts";
import { testSequencer, wireTable } from "#test/unit/aws/support/sequenced-table.ts";

const dynamo = mockClient(DynamoDBClient);
const T0 = new Date("2026-03-01T10:00:00.000Z");
let table: FakeTable;
let now = T0;

function store(): DynamoSessionStore {
  return new DynamoSessionStore({
    client: new DynamoDBClient({ region: "eu-west-1" }),
    tableName: "sessions",
    logger: silentLogger,
    idempotencyTtlSeconds: 3600,
    clock: { now: () => now },
    sleep: async () => {},
    random: () => 0.5,
  });
}

function deps(sessions: DynamoSessionStore) {
  return { sessions, clock: { now: () => now }, logger: silentLogger };
}

beforeEach(() => {
  dynamo.reset();
  table = new FakeTable();
  now = T0;
  wireTable(dynamo, table);
});

describe("the running-sessions index", () => {
  it("holds a session while it is running and drops it with the next version", async () => {
    const sessions = store();
    const record = sampleRecord({}, T0);
    await sessions.create(record);
    expect(await sessions.running(new Date(T0.getTime() + 1))).toEqual([record.sessionId]);
    expect(await sessions.running(T0)).toEqual([]);
    const query = dynamo.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(query).toMatchObject({ IndexName: RUNNING_INDEX, TableName: "sessions" });
    await sessions.update(transition(record, "completed", new Date(T0.getTime() + 500)));
    expect(await sessions.running(new Date(T0.getTime() + 10_000))).toEqual([]);
  });
});

describe("failOrphanedSessions", () => {
  it("fails sessions running longer than the orphan age with a chain record, and leaves younger ones", async () => {
    const sessions = store();
    const old = sampleRecord({}, T0);
    await sessions.create(old);
    now = new Date(T0.getTime() + 600_000);
    const young = sampleRecord({}, now);
    await sessions.create(young);
    now = new Date(T0.getTime() + 901_000);
    const swept = await failOrphanedSessions(deps(sessions), (before) => sessions.running(before), 900);
    expect(swept).toBe(1);
    expect(await sessions.get(old.sessionId)).toMatchObject({
      status: "failed",
      version: 2,
      error: { code: "interrupted", status: 503 },
    });
    expect((await sessions.get(young.sessionId))?.status).toBe("running");
    await (await testSequencer(table, "sessions", { now: () => now })).drain();
    const entries = [];
    for await (const entry of sessions.entries("2026-03-01", "2026-03-01")) entries.push(entry);
    expect(
      entries.map((e) => ("sessionId" in e.record ? [e.record.sessionId, e.record.status] : [])),
    ).toEqual([
      [old.sessionId, "running"],
      [young.sessionId, "running"],
      [old.sessionId, "failed"],
    ]);
    expect(verifyChain(entries)).toEqual([]);
    expect(await failOrphanedSessions(deps(sessions), (before) => sessions.running(before), 900)).toBe(0);
  });

  it("leaves a session that finished after the index was read", async () => {
    const sessions = store();
    const record = sampleRecord({}, T0);
    await sessions.create(record);
    await sessions.update(transition(record, "completed", T0));
    now = new Date(T0.getTime() + 3_600_000);
    const stale = async () => [record.sessionId];
    expect(await failOrphanedSessions(deps(sessions), stale, 900)).toBe(0);
    expect((await sessions.get(record.sessionId))?.status).toBe("completed");
  });
});
