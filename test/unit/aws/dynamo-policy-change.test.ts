// Policy changes on the DynamoDB chain: an entry of their own, recorded once however many functions start together.

import { DynamoDBClient, GetItemCommand, TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoSessionStore } from "#infra/aws/adapters/dynamo-session-store.ts";
import { silentLogger } from "#shared/log.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { verifyChain } from "#shared/sessions/chain.ts";
import { functionPolicyChanger, isPolicyChange } from "#shared/sessions/policy-change.ts";
import { sampleRecord } from "#test/support/records.ts";
import { FakeTable } from "#test/unit/aws/support/fake-dynamo.ts";
import { testSequencer, wireTable } from "#test/unit/aws/support/sequenced-table.ts";

const dynamo = mockClient(DynamoDBClient);
let table: FakeTable;
const NOW = new Date("2026-03-01T10:00:00.000Z");

function store(): DynamoSessionStore {
  return new DynamoSessionStore({
    client: new DynamoDBClient({ region: "eu-west-1" }),
    tableName: "phigate-sessions",
    logger: silentLogger,
    idempotencyTtlSeconds: 3600,
    clock: { now: () => NOW },
    sleep: async () => {},
    random: () => 0.5,
  });
}

async function all(s: DynamoSessionStore): Promise<ChainEntry[]> {
  const out: ChainEntry[] = [];
  for await (const entry of s.entries("2026-03-01", "2026-03-01")) out.push(entry);
  return out;
}

beforeEach(() => {
  dynamo.reset();
  table = new FakeTable();
  wireTable(dynamo, table);
});

describe("DynamoSessionStore.recordPolicy", () => {
  const by = functionPolicyChanger("post-query", "policy.yaml", {
    AWS_LAMBDA_FUNCTION_NAME: "phigate-post-query",
    AWS_LAMBDA_FUNCTION_VERSION: "7",
  });
  const demo = { name: "demo", digest: "a".repeat(64) };
  const weaker = { name: "demo", digest: "b".repeat(64) };

  it("links a change into the same chain as the sessions, once per policy, with the policy before it", async () => {
    const functions = [store(), store(), store()];
    const first = await Promise.all(functions.map((s) => s.recordPolicy(demo, by)));
    expect(first.filter((r) => r !== undefined)).toHaveLength(1);
    await functions[0]?.create(sampleRecord({}, NOW));
    const second = await Promise.all(functions.map((s) => s.recordPolicy(weaker, by)));
    expect(second.filter((r) => r !== undefined)).toEqual([
      { schema: "phigate.policy-change/v1", from: demo, to: weaker, by },
    ]);
    await (await testSequencer(table, "phigate-sessions", { now: () => NOW })).drain();
    const entries = await all(store());
    expect(verifyChain(entries)).toEqual([]);
    expect(
      entries.map((e) => (isPolicyChange(e.record) ? `policy ${e.record.to.digest[0]}` : "session")),
    ).toEqual(["policy a", "session", "policy b"]);
    expect(by.name).toBe("phigate-post-query:7");
  });

  it("reads the chain before the policy's archiving settles, writes after it, and not at all if it failed", async () => {
    let archive = (): void => {};
    const archived = new Promise<void>((resolve) => {
      archive = resolve;
    });
    const recording = store().recordPolicy(demo, by, archived);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(dynamo.commandCalls(GetItemCommand).length).toBeGreaterThan(0);
    expect(dynamo.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
    archive();
    expect(await recording).toMatchObject({ to: demo });
    await expect(store().recordPolicy(weaker, by, Promise.reject(new Error("no archive")))).rejects.toThrow(
      "no archive",
    );
    expect(dynamo.commandCalls(TransactWriteItemsCommand)).toHaveLength(1);
    // A policy the chain already names needs no archiving to finish: nothing is written either way.
    expect(await store().recordPolicy(demo, by, new Promise(() => {}))).toBeUndefined();
  });
});
