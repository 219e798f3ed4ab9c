// The DynamoDB approval store: exact conditional writes per transition, and the file store's semantics on a fake table.

import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { OPEN_INDEX, toItem } from "#infra/aws/adapters/approval-item.ts";
import { DynamoApprovalStore } from "#infra/aws/adapters/dynamo-approval-store.ts";
import type { ApprovalState } from "#shared/approval/approval-request.ts";
import { ConflictError, GoneError, NotFoundError, UnavailableError } from "#shared/errors.ts";
import { APPROVAL_ID as ID, APPROVAL_NOW as NOW, pendingApproval } from "#test/support/approval-state.ts";
import { FakeApprovalTable } from "#test/unit/aws/support/fake-approval-table.ts";

const TABLE = "phigate-approvals";
const KEY = { pk: { S: `approval#${ID}` }, sk: { N: "0" } };
const ddb = mockClient(DynamoDBClient);
let table: FakeApprovalTable;

const fresh = (): ApprovalState =>
  pendingApproval(["123-45-6789", [1, 2], 9_007_199_254_740_993n.toString(), 12.5, null, true]);

const decision = (who: string, kind: "approve" | "deny" = "approve") => ({
  approver: who,
  approverKey: `https://idp.test#${who}`,
  issuer: "https://idp.test",
  subject: who,
  decision: kind,
  at: NOW.toISOString(),
  comment: who === "alice" ? "looks fine" : null,
  binding: "a".repeat(64),
  via: "page" as const,
});

function store(): DynamoApprovalStore {
  return new DynamoApprovalStore({
    client: new DynamoDBClient({
      region: "eu-west-1",
      credentials: { accessKeyId: "AKIDTESTTESTTEST", secretAccessKey: "test-secret-not-real" },
    }),
    tableName: TABLE,
    closedRetentionDays: 30,
  });
}

beforeEach(() => {
  ddb.reset();
  table = new FakeApprovalTable();
  ddb.on(PutItemCommand).callsFake((input) => table.put(input));
  ddb.on(GetItemCommand).callsFake((input) => table.get(input));
  ddb.on(UpdateItemCommand).callsFake((input) => table.update(input));
  ddb.on(QueryCommand).callsFake((input) => table.query(input));
});

const lastUpdate = () => ddb.commandCalls(UpdateItemCommand).at(-1)?.args[0].input;

describe("DynamoApprovalStore request shapes", () => {
  it("creates with attribute_not_exists(pk) and the bookkeeping attributes the conditions need", async () => {
    await store().create(fresh());
    const input = ddb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(input?.TableName).toBe(TABLE);
    expect(input?.ConditionExpression).toBe("attribute_not_exists(pk)");
    expect(input?.Item).toMatchObject({
      ...KEY,
      version: { N: "1" },
      status: { S: "pending" },
      expiresAtMs: { N: String(Date.parse("2026-11-29T13:00:00.000Z")) },
      openPk: { S: "open" },
      taskToken: { NULL: true },
      params: { S: JSON.stringify(fresh().params) },
    });
    expect(input?.Item?.approverKeys).toBeUndefined();
    expect(input?.Item?.purgeAt).toBeUndefined();
  });

  it("reads strongly consistently", async () => {
    await store().create(fresh());
    expect(await store().get(ID)).toEqual(fresh());
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: KEY,
      ConsistentRead: true,
    });
  });

  it("appends a decision in one UpdateItem conditioned on version, pending, unexpired and a new approver", async () => {
    await store().create(fresh());
    await store().appendDecision(ID, {
      expectedVersion: 1,
      decision: decision("alice"),
      status: "pending",
      at: NOW,
    });
    const input = lastUpdate();
    expect(input).toMatchObject({
      TableName: TABLE,
      Key: KEY,
      UpdateExpression:
        "SET #decisions = list_append(#decisions, :decision), #status = :status, #decidedAt = :decidedAt, " +
        "#version = :next, #updatedAt = :at ADD #approverKeys :approverKeySet",
      ConditionExpression:
        "#version = :expected AND #status = :pending AND #expiresAtMs > :atMs AND " +
        "NOT contains(#approverKeys, :approverKey)",
      ReturnValues: "ALL_NEW",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ":expected": { N: "1" },
      ":next": { N: "2" },
      ":pending": { S: "pending" },
      ":status": { S: "pending" },
      ":decidedAt": { NULL: true },
      ":atMs": { N: String(NOW.getTime()) },
      ":approverKey": { S: "https://idp.test#alice" },
      ":approverKeySet": { SS: ["https://idp.test#alice"] },
    });
  });

  it("moves a status with #status IN (...) and bumps the version", async () => {
    await store().create(fresh());
    await store().transition(ID, ["pending", "approved"], "failed", NOW);
    expect(lastUpdate()).toMatchObject({
      UpdateExpression: "SET #status = :to, #version = #version + :one, #updatedAt = :at",
      ConditionExpression: "#status IN (:from0, :from1)",
      ExpressionAttributeValues: {
        ":from0": { S: "pending" },
        ":from1": { S: "approved" },
        ":to": { S: "failed" },
        ":one": { N: "1" },
        ":at": { S: NOW.toISOString() },
      },
    });
  });

  it("closes once: erases the parameters, leaves the open index and sets the TTL 30 days on", async () => {
    await store().create(fresh());
    const closed = await store().close(ID, NOW);
    expect(lastUpdate()).toMatchObject({
      UpdateExpression:
        "SET #params = :null, #closedAt = :at, #purgeAt = :purgeAt, #version = #version + :one, " +
        "#updatedAt = :at REMOVE #openPk",
      ConditionExpression: "attribute_exists(pk) AND attribute_type(#closedAt, :nullType)",
      ExpressionAttributeValues: {
        ":purgeAt": { N: String(NOW.getTime() / 1000 + 30 * 86_400) },
        ":nullType": { S: "NULL" },
      },
    });
    expect(closed).toMatchObject({ params: null, closedAt: NOW.toISOString(), version: 2 });
    const raw = table.items.get(`approval#${ID}|0`);
    expect(raw?.openPk).toBeUndefined();
    expect(raw?.params).toEqual({ NULL: true });
    const again = await store().close(ID, new Date(NOW.getTime() + 1000));
    expect(again).toEqual(closed);
  });

  it("lists open approvals from the sparse open index, page by page", async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [toItem(fresh())], LastEvaluatedKey: KEY })
      .resolvesOnce({
        Items: [toItem({ ...fresh(), approvalId: "apr_0000000000000000000000000B" })],
      });
    const open = await store().listOpen();
    expect(open.map((s) => s.approvalId)).toEqual([ID, "apr_0000000000000000000000000B"]);
    const calls = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls[0]).toEqual({
      TableName: TABLE,
      IndexName: OPEN_INDEX,
      KeyConditionExpression: "#openPk = :open",
      ExpressionAttributeNames: { "#openPk": "openPk" },
      ExpressionAttributeValues: { ":open": { S: "open" } },
    });
    expect(calls[1]?.ExclusiveStartKey).toEqual(KEY);
  });
});

describe("DynamoApprovalStore semantics (as the file store)", () => {
  it("creates once", async () => {
    await store().create(fresh());
    await expect(store().create(fresh())).rejects.toMatchObject({ code: "approval_exists" });
    expect(await store().get("apr_0000000000000000000000000B")).toBeUndefined();
  });

  it("keeps raw parameters exactly (big integers as text, arrays, nulls) until closed", async () => {
    await store().create(fresh());
    expect((await store().get(ID))?.params).toEqual(fresh().params);
  });

  it("refuses a second decision by the same approver, a stale version, and anything after the final decision", async () => {
    await store().create(fresh());
    const first = await store().appendDecision(ID, {
      expectedVersion: 1,
      decision: decision("alice"),
      status: "pending",
      at: NOW,
    });
    expect(first).toMatchObject({ version: 2, status: "pending", decidedAt: null });
    expect(first.decisions.map((d) => d.approver)).toEqual(["alice"]);
    await expect(
      store().appendDecision(ID, {
        expectedVersion: 2,
        decision: decision("alice"),
        status: "approved",
        at: NOW,
      }),
    ).rejects.toMatchObject({ code: "already_decided" });
    await expect(
      store().appendDecision(ID, {
        expectedVersion: 1,
        decision: decision("bob"),
        status: "approved",
        at: NOW,
      }),
    ).rejects.toMatchObject({ code: "version_conflict" });
    const second = await store().appendDecision(ID, {
      expectedVersion: 2,
      decision: decision("bob"),
      status: "approved",
      at: NOW,
    });
    expect(second).toMatchObject({ version: 3, status: "approved", decidedAt: NOW.toISOString() });
    await expect(
      store().appendDecision(ID, {
        expectedVersion: 3,
        decision: decision("carol", "deny"),
        status: "denied",
        at: NOW,
      }),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it("answers expired (410) at or after the expiry, before anything else", async () => {
    await store().create(fresh());
    const late = new Date("2026-11-29T13:00:00.000Z");
    await expect(
      store().appendDecision(ID, {
        expectedVersion: 7,
        decision: decision("alice"),
        status: "approved",
        at: late,
      }),
    ).rejects.toBeInstanceOf(GoneError);
    await store().transition(ID, ["pending"], "expired", NOW);
    await expect(
      store().appendDecision(ID, {
        expectedVersion: 2,
        decision: decision("alice"),
        status: "approved",
        at: NOW,
      }),
    ).rejects.toMatchObject({ code: "expired" });
  });

  it("lets exactly one of two racing approvers with the same expected version win", async () => {
    await store().create(fresh());
    const results = await Promise.allSettled([
      store().appendDecision(ID, {
        expectedVersion: 1,
        decision: decision("alice"),
        status: "pending",
        at: NOW,
      }),
      store().appendDecision(ID, {
        expectedVersion: 1,
        decision: decision("bob"),
        status: "pending",
        at: NOW,
      }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const loser = results.find((r) => r.status === "rejected");
    expect((loser as PromiseRejectedResult).reason).toMatchObject({ code: "version_conflict" });
  });

  it("moves a status once", async () => {
    await store().create(fresh());
    await store().transition(ID, ["pending"], "expired", NOW);
    await expect(store().transition(ID, ["pending"], "expired", NOW)).rejects.toMatchObject({
      code: "status_conflict",
    });
    await expect(
      store().transition("apr_0000000000000000000000000B", ["pending"], "expired", NOW),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it("keeps the task token, notes the first notification once, and retries a write that lost a race", async () => {
    await store().create(fresh());
    const t1 = await store().setTask(ID, { taskToken: "tok-1", at: NOW });
    expect(t1).toMatchObject({ taskToken: "tok-1", notifiedAt: null, version: 2 });
    const same = await store().setTask(ID, { taskToken: "tok-1", at: NOW });
    expect(same.version).toBe(2);
    let raced = false;
    table.beforeWrite = (items) => {
      if (raced) return;
      raced = true;
      const item = items.get(`approval#${ID}|0`);
      if (item !== undefined) item.version = { N: "3" };
    };
    const notified = await store().setTask(ID, { taskToken: "tok-2", notifiedAt: NOW, at: NOW });
    expect(notified).toMatchObject({ taskToken: "tok-2", notifiedAt: NOW.toISOString(), version: 4 });
    table.beforeWrite = undefined;
    const later = new Date(NOW.getTime() + 60_000);
    const replanned = await store().setTask(ID, { taskToken: "tok-3", notifiedAt: later, at: later });
    expect(replanned.notifiedAt).toBe(NOW.toISOString());
    const conditions = ddb.commandCalls(UpdateItemCommand).map((c) => c.args[0].input.ConditionExpression);
    expect(conditions.every((c) => c === "#version = :expected")).toBe(true);
  });

  it("lists only open approvals", async () => {
    await store().create(fresh());
    await store().create({ ...fresh(), approvalId: "apr_0000000000000000000000000B" });
    await store().close(ID, NOW);
    expect((await store().listOpen()).map((s) => s.approvalId)).toEqual(["apr_0000000000000000000000000B"]);
  });

  it("reports an unreachable table as store_unavailable", async () => {
    ddb.on(GetItemCommand).rejects(new Error("socket hang up"));
    await expect(store().get(ID)).rejects.toBeInstanceOf(UnavailableError);
  });
});
