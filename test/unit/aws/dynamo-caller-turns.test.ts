// Callers' turns on DynamoDB: a lease per caller excludes a second holder, expires, is given back by its holder only,
// and a wait is bounded to a few seconds inside the invocation, then 429; two instances on one table serialize a caller.

import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  DynamoCallerTurns,
  type DynamoCallerTurnsOptions,
  LEASE_MARGIN_MS,
  MAX_TURN_WAIT_MS,
  TURN_KEY_PREFIX,
  turnWaitMs,
} from "#infra/aws/adapters/dynamo-caller-turns.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { TurnBusyError, UnavailableError } from "#shared/errors.ts";
import { type LogFields, type Logger, silentLogger } from "#shared/log.ts";

type Item = Record<string, AttributeValue>;

const TABLE = "phigate-sessions";
const ALICE = "https://issuer#alice";
const BOB = "https://issuer#bob";
const ddb = mockClient(DynamoDBClient);
/** The stand-in table's lease items, by `pk` (every lease has `sk` 0). */
let items: Map<string, Item>;
/** Conditional puts refused, by `pk`. */
let refused: Map<string, number>;

const pkOf = (principal: string): string => `${TURN_KEY_PREFIX}${sha256Hex(principal)}`;

function refuse(item: Item | undefined, returnOld: boolean): never {
  throw new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: {},
    ...(returnOld && item !== undefined ? { Item: structuredClone(item) } : {}),
  });
}

beforeEach(() => {
  items = new Map();
  refused = new Map();
  ddb.reset();
  ddb.on(PutItemCommand).callsFake((input) => {
    expect(input.TableName).toBe(TABLE);
    expect(input.ConditionExpression).toBe("attribute_not_exists(pk) OR #until < :now");
    const pk = String(input.Item.pk.S);
    const item = items.get(pk);
    const now = Number(input.ExpressionAttributeValues[":now"].N);
    if (item !== undefined && !(Number(item[input.ExpressionAttributeNames["#until"]]?.N) < now)) {
      refused.set(pk, (refused.get(pk) ?? 0) + 1);
      refuse(item, input.ReturnValuesOnConditionCheckFailure === "ALL_OLD");
    }
    items.set(pk, structuredClone(input.Item));
    return {};
  });
  ddb.on(DeleteItemCommand).callsFake((input) => {
    expect(input.ConditionExpression).toBe("#holder = :me");
    const pk = String(input.Key.pk.S);
    const item = items.get(pk);
    const holder = String(input.ExpressionAttributeNames["#holder"]);
    if (item?.[holder]?.S !== input.ExpressionAttributeValues[":me"].S) refuse(item, false);
    items.delete(pk);
    return {};
  });
});

/** A promise and its resolver. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Settles once `check` holds, letting the event loop turn between looks. */
async function until(check: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000 && !check(); turn++) await new Promise((r) => setImmediate(r));
  expect(check()).toBe(true);
}

/** A turns instance (one "Lambda") with its own client on the stand-in table. */
function turns(options: Partial<DynamoCallerTurnsOptions> = {}): DynamoCallerTurns {
  return new DynamoCallerTurns({
    client: new DynamoDBClient({ region: "eu-west-1" }),
    tableName: TABLE,
    logger: silentLogger,
    remainingMs: () => 25_000,
    sleep: () => new Promise((r) => setImmediate(r)),
    ...options,
  });
}

describe("DynamoCallerTurns", () => {
  it("keeps a second holder of the caller out until the first gives the turn back", async () => {
    const now = 1_800_000_000_000;
    const first = turns({ now: () => now });
    const gate = deferred();
    let inside = false;
    const held = first.run(ALICE, 5_000, async () => {
      inside = true;
      await gate.promise;
      return "first";
    });
    await until(() => inside);
    const lease = items.get(pkOf(ALICE));
    expect(Number(lease?.sk?.N)).toBe(0);
    expect(Number(lease?.until?.N)).toBe(now + 5_000 + LEASE_MARGIN_MS);
    expect(Number(lease?.expiresAt?.N)).toBeGreaterThan(Number(lease?.until?.N) / 1000);
    let secondRan = false;
    const second = turns({ now: () => now }).run(ALICE, 5_000, async () => {
      secondRan = true;
      return "second";
    });
    await until(() => (refused.get(pkOf(ALICE)) ?? 0) >= 3);
    expect(secondRan).toBe(false);
    gate.resolve();
    expect(await held).toBe("first");
    expect(await second).toBe("second");
    expect(items.size).toBe(0);
  });

  it("takes over a lease whose holder died once it has expired, and gives it back after", async () => {
    const now = 1_800_000_000_000;
    items.set(pkOf(ALICE), {
      pk: { S: pkOf(ALICE) },
      sk: { N: "0" },
      holder: { S: "dead-function" },
      until: { N: String(now - 1) },
      expiresAt: { N: String(Math.ceil(now / 1000) + 3_600) },
    });
    const holderDuringTask = await turns({ now: () => now }).run(
      ALICE,
      5_000,
      async () => items.get(pkOf(ALICE))?.holder?.S,
    );
    expect(holderDuringTask).toMatch(/^[0-9a-f-]{36}$/);
    expect(refused.size).toBe(0);
    expect(items.size).toBe(0);
  });

  it("leaves a lease alone that another holder took after this one's expired", async () => {
    let now = 1_800_000_000_000;
    const warnings: LogFields[] = [];
    const logger: Logger = { ...silentLogger, warn: (_message, fields) => warnings.push(fields ?? {}) };
    const overrun = turns({ now: () => now, logger });
    const takerGate = deferred();
    let taker: Promise<string> | undefined;
    let takerInside = false;
    await overrun.run(ALICE, 5_000, async () => {
      now += 5_000 + LEASE_MARGIN_MS + 1;
      taker = turns({ now: () => now }).run(ALICE, 5_000, async () => {
        takerInside = true;
        await takerGate.promise;
        return "taker";
      });
      await until(() => takerInside);
    });
    const lease = items.get(pkOf(ALICE));
    expect(lease?.holder?.S).toMatch(/^[0-9a-f-]{36}$/);
    expect(warnings).toEqual([{ errorName: "ConditionalCheckFailedException", errorCode: undefined }]);
    expect(JSON.stringify(warnings)).not.toContain("alice");
    takerGate.resolve();
    expect(await taker).toBe("taker");
    expect(items.size).toBe(0);
  });

  it("waits at most a few seconds for a held lease, then answers 429 with the lease's remaining seconds", async () => {
    let now = 1_800_000_000_000;
    items.set(pkOf(ALICE), {
      pk: { S: pkOf(ALICE) },
      sk: { N: "0" },
      holder: { S: "other-function" },
      until: { N: String(now + 8_000) },
    });
    let ran = false;
    const waiting = turns({
      now: () => now,
      remainingMs: () => 60_000,
      random: () => 0.5,
      sleep: async (ms) => {
        now += ms;
      },
    }).run(ALICE, 5_000, async () => {
      ran = true;
    });
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TurnBusyError);
    expect((error as TurnBusyError).status).toBe(429);
    // Waits of 75, 150, 300, 600, 750 and 750 ms, then the 375 ms left of the 3 s: 5 s of the lease remain.
    expect(now).toBe(1_800_000_000_000 + MAX_TURN_WAIT_MS);
    expect((error as TurnBusyError).details).toEqual({ retryAfterSeconds: 5 });
    expect(refused.get(pkOf(ALICE))).toBe(8);
    expect(ran).toBe(false);
    expect(items.get(pkOf(ALICE))?.holder?.S).toBe("other-function");
  });

  it("does not wait at all when the invocation could not fit the statement and its turn after a wait", async () => {
    const now = 1_800_000_000_000;
    items.set(pkOf(ALICE), {
      pk: { S: pkOf(ALICE) },
      sk: { N: "0" },
      holder: { S: "other-function" },
      until: { N: String(now + 8_000) },
    });
    const slept: number[] = [];
    const error = await turns({
      now: () => now,
      remainingMs: () => 5_000 + LEASE_MARGIN_MS - 1,
      sleep: async (ms) => {
        slept.push(ms);
      },
    })
      .run(ALICE, 5_000, async () => "ran")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TurnBusyError);
    expect((error as TurnBusyError).details).toEqual({ retryAfterSeconds: 8 });
    expect(slept).toEqual([]);
    expect(refused.get(pkOf(ALICE))).toBe(1);
  });

  it("bounds the wait by the few seconds and by what the invocation has left", () => {
    expect(turnWaitMs(Number.POSITIVE_INFINITY, 10_000)).toBe(MAX_TURN_WAIT_MS);
    expect(turnWaitMs(60_000, 10_000)).toBe(MAX_TURN_WAIT_MS);
    expect(turnWaitMs(10_000 + LEASE_MARGIN_MS + 1_000, 10_000)).toBe(1_000);
    expect(turnWaitMs(10_000, 10_000)).toBe(0);
  });

  it("leases a turn for the whole statement timeout and margin, even past its own invocation", async () => {
    const now = 1_800_000_000_000;
    const until = await turns({ now: () => now, remainingMs: () => 1_000 }).run(ALICE, 20_000, async () =>
      Number(items.get(pkOf(ALICE))?.until?.N),
    );
    expect(until).toBe(now + 20_000 + LEASE_MARGIN_MS);
  });

  it("fails closed when the table cannot be reached, and still answers when only the release fails", async () => {
    ddb.on(PutItemCommand).rejects(new Error("network down"));
    let ran = false;
    await expect(
      turns().run(ALICE, 5_000, async () => {
        ran = true;
      }),
    ).rejects.toBeInstanceOf(UnavailableError);
    expect(ran).toBe(false);
    ddb.on(PutItemCommand).resolves({});
    ddb.on(DeleteItemCommand).rejects(new Error("network down"));
    expect(await turns().run(ALICE, 5_000, async () => "answered")).toBe("answered");
  });
});

describe("two function instances sharing the table", () => {
  it("run one caller's tasks one at a time while another caller's task runs at once", async () => {
    const lambdaA = turns();
    const lambdaB = turns();
    const running = new Map<string, number>();
    const most = new Map<string, number>();
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const task = (principal: string, name: string) => async (): Promise<string> => {
      const now = (running.get(principal) ?? 0) + 1;
      running.set(principal, now);
      most.set(principal, Math.max(most.get(principal) ?? 0, now));
      started.push(name);
      const gate = deferred();
      gates.set(name, gate);
      await gate.promise;
      running.set(principal, (running.get(principal) ?? 1) - 1);
      return name;
    };
    const alice1 = lambdaA.run(ALICE, 5_000, task(ALICE, "alice-1"));
    await until(() => started.includes("alice-1"));
    const alice2 = lambdaB.run(ALICE, 5_000, task(ALICE, "alice-2"));
    const bob = lambdaB.run(BOB, 5_000, task(BOB, "bob"));
    await until(() => started.includes("bob"));
    await until(() => (refused.get(pkOf(ALICE)) ?? 0) >= 3);
    expect(started).toEqual(["alice-1", "bob"]);
    gates.get("alice-1")?.resolve();
    await until(() => started.includes("alice-2"));
    gates.get("alice-2")?.resolve();
    gates.get("bob")?.resolve();
    expect(await Promise.all([alice1, alice2, bob])).toEqual(["alice-1", "alice-2", "bob"]);
    expect(Object.fromEntries(most)).toEqual({ [ALICE]: 1, [BOB]: 1 });
    expect(refused.has(pkOf(BOB))).toBe(false);
    expect(items.size).toBe(0);
  });
});
