// The evidence job store on DynamoDB: conditional create, a build begun once, a record finished once; and the status view.

import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoEvidenceJobStore, EVIDENCE_JOB_PREFIX } from "#infra/aws/adapters/dynamo-evidence-jobs.ts";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import { type EvidenceJob, viewOf } from "#shared/evidence/evidence-jobs.ts";

const TABLE = "phigate-sessions";
const ID = "evb_0123456789ABCDEFGHJKMNPQRS";
const AT = new Date("2026-03-01T10:00:00.000Z");
const ddb = mockClient(DynamoDBClient);
type Item = Record<string, AttributeValue>;
let items: Map<string, Item>;
/** An item GetItem answers once instead of the stored one (a read that a concurrent write then overtakes). */
let staleRead: Item | undefined;

const job: EvidenceJob = {
  bundleId: ID,
  status: "building",
  location: `s3://evidence/bundles/${ID}/`,
  from: "2026-02-28T00:00:00.000Z",
  to: "2026-03-01T00:00:00.000Z",
  requestedBy: "https://issuer#auditor",
  requestedAt: AT.toISOString(),
};
const result = { keyFingerprint: "f".repeat(64), entries: 12, sessions: 4 };

function conditionHolds(condition: string | undefined, item: Item | undefined, values: Item): boolean {
  if (condition === undefined) return true;
  return condition.split(" AND ").every((clause) => {
    if (clause === "attribute_not_exists(pk)") return item === undefined;
    if (clause === "attribute_not_exists(startedAt)") return item?.startedAt === undefined;
    if (clause === "#status = :building") return item?.status?.S === values[":building"]?.S;
    throw new Error(`unexpected condition ${clause}`);
  });
}

const store = () => new DynamoEvidenceJobStore({ client: new DynamoDBClient({}), tableName: TABLE });

beforeEach(() => {
  items = new Map();
  staleRead = undefined;
  ddb.reset();
  ddb.on(PutItemCommand).callsFake((input) => {
    const key = input.Item.pk.S;
    if (!conditionHolds(input.ConditionExpression, items.get(key), {}))
      throw new ConditionalCheckFailedException({ message: "failed", $metadata: {} });
    items.set(key, structuredClone(input.Item));
    return {};
  });
  ddb.on(GetItemCommand).callsFake((input) => {
    expect(input.ConsistentRead).toBe(true);
    const item = staleRead ?? items.get(input.Key.pk.S);
    staleRead = undefined;
    return item === undefined ? {} : { Item: structuredClone(item) };
  });
  ddb.on(UpdateItemCommand).callsFake((input) => {
    const key = input.Key.pk.S;
    const item = items.get(key);
    const values = input.ExpressionAttributeValues as Item;
    if (!conditionHolds(input.ConditionExpression, item, values))
      throw new ConditionalCheckFailedException({ message: "failed", $metadata: {} });
    const next: Item = {
      ...(item as Item),
      status: values[":status"] as AttributeValue,
      record: values[":record"] as AttributeValue,
    };
    if (values[":startedAt"] !== undefined) next.startedAt = values[":startedAt"];
    items.set(key, next);
    return {};
  });
});

describe("DynamoEvidenceJobStore", () => {
  it("creates a job once, under its own key prefix, with an expiry", async () => {
    await store().create(job);
    const item = items.get(`${EVIDENCE_JOB_PREFIX}${ID}`);
    expect(item?.status?.S).toBe("building");
    expect(Number(item?.expiresAt?.N)).toBeGreaterThan(AT.getTime() / 1000);
    await expect(store().create(job)).rejects.toBeInstanceOf(ConflictError);
    expect(await store().get(ID)).toEqual(job);
    expect(await store().get("evb_00000000000000000000000000")).toBeUndefined();
  });

  it("begins a build once: a repeated attempt is told it already began", async () => {
    await store().create(job);
    expect(await store().begin(ID, AT)).toBe(true);
    expect((await store().get(ID))?.startedAt).toBe(AT.toISOString());
    expect(await store().begin(ID, new Date(AT.getTime() + 1000))).toBe(false);
    expect((await store().get(ID))?.startedAt).toBe(AT.toISOString());
  });

  it("finishes a record once: ready stays ready, a later failure does not overwrite it", async () => {
    await store().create(job);
    await store().begin(ID, AT);
    expect(await store().finish(ID, { status: "ready", result, at: AT })).toBe(true);
    expect(await store().finish(ID, { status: "failed", reason: "timed_out", at: AT })).toBe(false);
    expect(await store().get(ID)).toMatchObject({ status: "ready", result, finishedAt: AT.toISOString() });
    expect(await store().begin(ID, AT)).toBe(false);
  });

  it("loses a race to a concurrent finish without overwriting it", async () => {
    await store().create(job);
    const building = structuredClone(items.get(`${EVIDENCE_JOB_PREFIX}${ID}`) as Item);
    await store().finish(ID, { status: "failed", reason: "build_failed", at: AT });
    staleRead = building;
    expect(await store().finish(ID, { status: "ready", result, at: AT })).toBe(false);
    expect((await store().get(ID))?.status).toBe("failed");
  });

  it("turns a store failure into 503 store_unavailable", async () => {
    ddb.on(GetItemCommand).rejects(new Error("throttled"));
    await expect(store().get(ID)).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe("the status view", () => {
  it("says building, then failed/timed_out once the build outlives its budget", () => {
    const started = { ...job, startedAt: AT.toISOString() };
    expect(viewOf(started, new Date(AT.getTime() + 60_000))).toMatchObject({
      status: "building",
      statusUrl: `/v1/evidence-bundles/${ID}`,
    });
    const late = viewOf(started, new Date(AT.getTime() + 961_000 + 1000));
    expect(late).toMatchObject({ status: "failed", reason: "timed_out" });
    expect(late.keyFingerprint).toBeUndefined();
  });

  it("shows a ready bundle's result and a failed one's fixed sentence only", () => {
    expect(viewOf({ ...job, status: "ready", result }, AT)).toMatchObject({ status: "ready", entries: 12 });
    const failed = viewOf({ ...job, status: "failed", reason: "build_failed", result }, AT);
    expect(failed).toMatchObject({ status: "failed", reason: "build_failed" });
    expect(failed.entries).toBeUndefined();
    expect(failed.message).not.toMatch(/s3|arn|bucket/i);
  });
});
