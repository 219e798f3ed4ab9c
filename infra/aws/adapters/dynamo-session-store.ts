// SessionStore on DynamoDB: every write is one transaction that advances the global chain head and appends an entry.

import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import { UnavailableError, VersionConflictError } from "#shared/errors.ts";
import { errorFields, type Logger } from "#shared/log.ts";
import {
  type ChainEntry,
  type Clock,
  type IdempotencyRef,
  type SessionStore,
  systemClock,
} from "#shared/ports.ts";
import { linkEntry } from "#shared/sessions/chain.ts";
import {
  type PolicyChangeRecord,
  type PolicyChanger,
  type PolicyRef,
  parseChainRecord,
  policyChange,
  policyChangeRecordSchema,
} from "#shared/sessions/policy-change.ts";
import { type SessionRecord, sessionRecordSchema } from "#shared/sessions/record.ts";
import { queryItems } from "./dynamo-query.ts";

/** How partition keys start, by kind of item (IAM grants scope functions to them as `<prefix>*` leading keys). */
export const KEY_PREFIXES = { session: "session#", chain: "chain#", idempotency: "idem#" } as const;

/** The sparse index of running sessions and its one partition value. */
export const RUNNING_INDEX = "running-sessions";
export const RUNNING_PARTITION = "running";

/** Partition key of the single chain-head item (a chain item: readers of the chain read it too). */
export const HEAD_PK = `${KEY_PREFIXES.chain}head`;

/** Key helpers: one table, generic `pk` (string) / `sk` (number) keys. */
export const keys = {
  head: () => ({ pk: { S: HEAD_PK }, sk: { N: "0" } }),
  session: (sessionId: string) => ({ pk: { S: `${KEY_PREFIXES.session}${sessionId}` }, sk: { N: "0" } }),
  entry: (day: string, seq: number) => ({ pk: { S: `${KEY_PREFIXES.chain}${day}` }, sk: { N: String(seq) } }),
  idempotency: (ref: IdempotencyRef) => ({
    pk: { S: `${KEY_PREFIXES.idempotency}${ref.scope}#${ref.key}` },
    sk: { N: "0" },
  }),
};

type Item = Record<string, AttributeValue>;

interface Head {
  readonly seq: number;
  readonly digest: string;
  readonly recordedAt: string;
}

/** Options of the DynamoDB store. */
export interface DynamoSessionStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** How long an idempotency item lives (DynamoDB TTL on `expiresAt`), seconds. */
  readonly idempotencyTtlSeconds: number;
  /** Attempts when the chain head moves under a write (default 10). */
  readonly maxAttempts?: number;
  /** Waits between attempts (injectable for tests). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

type Operation =
  | {
      readonly kind: "create";
      readonly record: SessionRecord;
      readonly idempotency: IdempotencyRef | undefined;
    }
  | { readonly kind: "update"; readonly record: SessionRecord }
  | { readonly kind: "policy"; readonly record: PolicyChangeRecord };

/** Why a transaction was cancelled, in the order the cases are acted on. */
type Cancellation =
  | { readonly kind: "idempotent"; readonly sessionId: string }
  | { readonly kind: "version_conflict" }
  | { readonly kind: "head_moved"; readonly head: Head | undefined }
  | { readonly kind: "contention" };

const numberOf = (value: AttributeValue | undefined): number | undefined =>
  value?.N === undefined ? undefined : Number(value.N);

/** The policy the head item says the last policy-change entry put in force. */
function headPolicy(item: Item | undefined): PolicyRef | undefined {
  const name = item?.policyName?.S;
  const digest = item?.policyDigest?.S;
  return name === undefined || digest === undefined ? undefined : { name, digest };
}

function headFromItem(item: Item | undefined): Head | undefined {
  const seq = numberOf(item?.seq);
  const digest = item?.digest?.S;
  const recordedAt = item?.recordedAt?.S;
  if (seq === undefined || digest === undefined || recordedAt === undefined) return undefined;
  return { seq, digest, recordedAt };
}

function parseRecord(text: string | undefined): SessionRecord {
  if (text === undefined) throw new TypeError("session item has no record");
  return sessionRecordSchema.parse(JSON.parse(text));
}

function unavailable(error: unknown): UnavailableError {
  return new UnavailableError("store_unavailable", "the session store is unavailable", { cause: error });
}

/**
 * A `SessionStore` on one DynamoDB table. The chain is global: a single head item holds the last `seq`,
 * digest and time, and each write is one `TransactWriteItems` that (1) moves the head from the expected
 * `seq` to `seq + 1`, (2) puts the chain entry (`chain#<day>` / `seq`, never overwritten), (3) puts the
 * session item (create: must not exist; update: stored version must be the previous one) and (4) for an
 * idempotent create, puts `idem#<scope>#<key>` (must not exist). When the head moved, the write is relinked
 * after the head it found and retried (bounded, jittered; one container's writes are serialized); entries are linked with the same `linkEntry` as the
 * local journal, so `verifyChain` checks a chain written here.
 */
export class DynamoSessionStore implements SessionStore {
  private head: Head | undefined;
  private headKnown = false;
  /** Writes from one container go one at a time (they would only contend for the head with each other). */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: DynamoSessionStoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  async create(
    record: SessionRecord,
    idempotency?: IdempotencyRef,
  ): Promise<{ created: boolean; record: SessionRecord }> {
    const parsed = sessionRecordSchema.parse(record);
    if (parsed.version !== 1) throw new VersionConflictError("a new session starts at version 1");
    return this.write({ kind: "create", record: parsed, idempotency });
  }

  async update(record: SessionRecord): Promise<SessionRecord> {
    const parsed = sessionRecordSchema.parse(record);
    return (await this.write({ kind: "update", record: parsed })).record;
  }

  /** Ids of sessions recorded `running` before `before` (oldest first): candidates for the keeper's orphan sweep. */
  async running(before: Date): Promise<string[]> {
    const ids: string[] = [];
    const items = queryItems(
      this.options.client,
      {
        TableName: this.options.tableName,
        IndexName: RUNNING_INDEX,
        KeyConditionExpression: "#runningPk = :running AND #runningAt < :before",
        ExpressionAttributeNames: { "#runningPk": "runningPk", "#runningAt": "runningAt" },
        ExpressionAttributeValues: {
          ":running": { S: RUNNING_PARTITION },
          ":before": { S: before.toISOString() },
        },
      },
      (error) =>
        new UnavailableError("store_unavailable", "the session store is unavailable", { cause: error }),
    );
    for await (const item of items) {
      const pk = item.pk?.S ?? "";
      if (pk.startsWith(KEY_PREFIXES.session)) ids.push(pk.slice(KEY_PREFIXES.session.length));
    }
    return ids;
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const item = await this.getItem(keys.session(sessionId));
    return item === undefined ? undefined : this.recordOf(item);
  }

  async *entries(fromDay: string, toDay: string): AsyncIterable<ChainEntry> {
    const head = await this.getItem(keys.head());
    const firstDay = head?.firstDay?.S;
    const lastDay = head?.recordedAt?.S?.slice(0, 10);
    if (firstDay === undefined || lastDay === undefined) return;
    const from = fromDay > firstDay ? fromDay : firstDay;
    const to = toDay < lastDay ? toDay : lastDay;
    for (const day of daysBetween(from, to)) {
      const items = queryItems(
        this.options.client,
        {
          TableName: this.options.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": keys.entry(day, 0).pk },
          ScanIndexForward: true,
          ConsistentRead: true,
        },
        unavailable,
      );
      for await (const item of items) {
        const entry = JSON.parse(item.entry?.S ?? "null") as ChainEntry | null;
        if (entry === null) throw unavailable(new TypeError("chain item has no entry"));
        yield { ...entry, record: parseChainRecord(entry.record) };
      }
    }
  }

  /**
   * Appends a policy-change entry when the head item's policy is not `policy`: one transaction that moves the head
   * (and its `policyName`/`policyDigest`) and puts the entry. Functions starting together race on the head: one
   * appends, the others find the policy recorded when they retry.
   */
  recordPolicy(policy: PolicyRef, by: PolicyChanger): Promise<PolicyChangeRecord | undefined> {
    const result = this.tail.then(() => this.attemptPolicy(policy, by));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async attemptPolicy(policy: PolicyRef, by: PolicyChanger): Promise<PolicyChangeRecord | undefined> {
    const maxAttempts = this.options.maxAttempts ?? 10;
    for (let attempt = 1; ; attempt++) {
      const item = await this.getItem(keys.head());
      const head = headFromItem(item);
      const current = headPolicy(item);
      if (current?.digest === policy.digest) return undefined;
      const record = policyChangeRecordSchema.parse(policyChange(current ?? null, policy, by));
      const now = this.clock.now();
      const recordedAt =
        head !== undefined && now.toISOString() < head.recordedAt ? new Date(head.recordedAt) : now;
      const entry = linkEntry(head, recordedAt, record);
      const headUpdate = this.headUpdate(head, entry);
      const entryPut = this.entryPut(entry);
      const update = headUpdate.Update;
      if (update === undefined) throw unavailable(new TypeError("no head update"));
      update.UpdateExpression = `${update.UpdateExpression}, #policyName = :policyName, #policyDigest = :policyDigest`;
      update.ExpressionAttributeNames = {
        ...update.ExpressionAttributeNames,
        "#policyName": "policyName",
        "#policyDigest": "policyDigest",
      };
      update.ExpressionAttributeValues = {
        ...update.ExpressionAttributeValues,
        ":policyName": { S: policy.name },
        ":policyDigest": { S: policy.digest },
      };
      try {
        await this.options.client.send(
          new TransactWriteItemsCommand({ TransactItems: [headUpdate, entryPut] }),
        );
        this.head = { seq: entry.seq, digest: entry.digest, recordedAt: entry.recordedAt };
        this.headKnown = true;
        return record;
      } catch (error) {
        const cancellation = this.cancellation(error, { kind: "policy", record });
        if (cancellation.kind !== "head_moved" && cancellation.kind !== "contention")
          throw unavailable(error);
      }
      this.headKnown = false;
      if (attempt >= maxAttempts) {
        this.options.logger.error("chain head contention exhausted the policy-change attempts", {
          attempts: attempt,
        });
        throw unavailable(new Error("chain head contention"));
      }
      await this.sleep(Math.floor(this.random() * Math.min(200, 10 * 2 ** attempt)));
    }
  }

  private write(
    op: Exclude<Operation, { kind: "policy" }>,
  ): Promise<{ created: boolean; record: SessionRecord }> {
    const result = this.tail.then(() => this.attempt(op));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async attempt(
    op: Exclude<Operation, { kind: "policy" }>,
  ): Promise<{ created: boolean; record: SessionRecord }> {
    const maxAttempts = this.options.maxAttempts ?? 10;
    for (let attempt = 1; ; attempt++) {
      if (!this.headKnown) await this.readHead();
      const head = this.head;
      const now = this.clock.now();
      const recordedAt =
        head !== undefined && now.toISOString() < head.recordedAt ? new Date(head.recordedAt) : now;
      const entry = linkEntry(head, recordedAt, op.record);
      let cancellation: Cancellation;
      try {
        await this.options.client.send(
          new TransactWriteItemsCommand({ TransactItems: this.transactItems(op, head, entry, now) }),
        );
        this.head = { seq: entry.seq, digest: entry.digest, recordedAt: entry.recordedAt };
        return { created: op.kind === "create", record: op.record };
      } catch (error) {
        cancellation = this.cancellation(error, op);
      }
      if (cancellation.kind === "idempotent") {
        const existing = await this.get(cancellation.sessionId);
        if (existing === undefined)
          throw unavailable(new TypeError("idempotency item names a missing session"));
        return { created: false, record: existing };
      }
      if (cancellation.kind === "version_conflict") {
        throw new VersionConflictError(
          op.kind === "create" ? "the session already exists" : "the session was changed concurrently",
        );
      }
      if (cancellation.kind === "head_moved") {
        this.head = cancellation.head;
        this.headKnown = cancellation.head !== undefined;
      } else {
        this.headKnown = false;
      }
      if (attempt >= maxAttempts) {
        this.options.logger.error("chain head contention exhausted the write attempts", {
          attempts: attempt,
        });
        throw unavailable(new Error("chain head contention"));
      }
      await this.sleep(Math.floor(this.random() * Math.min(200, 10 * 2 ** attempt)));
    }
  }

  /** Moves the chain head from `head` to `entry` (only if nobody moved it meanwhile). */
  private headUpdate(head: Head | undefined, entry: ChainEntry): TransactWriteItem {
    const table = this.options.tableName;
    return {
      Update: {
        TableName: table,
        Key: keys.head(),
        UpdateExpression:
          "SET #seq = :next, #digest = :digest, #recordedAt = :recordedAt, #firstDay = if_not_exists(#firstDay, :day)",
        ConditionExpression: head === undefined ? "attribute_not_exists(pk)" : "#seq = :expected",
        ExpressionAttributeNames: {
          "#seq": "seq",
          "#digest": "digest",
          "#recordedAt": "recordedAt",
          "#firstDay": "firstDay",
        },
        ExpressionAttributeValues: {
          ":next": { N: String(entry.seq) },
          ":day": { S: entry.day },
          ":digest": { S: entry.digest },
          ":recordedAt": { S: entry.recordedAt },
          ...(head === undefined ? {} : { ":expected": { N: String(head.seq) } }),
        },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      },
    };
  }

  /** Puts a chain entry (never overwriting one). */
  private entryPut(entry: ChainEntry): TransactWriteItem {
    const table = this.options.tableName;
    return {
      Put: {
        TableName: table,
        Item: { ...keys.entry(entry.day, entry.seq), entry: { S: JSON.stringify(entry) } },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    };
  }

  private transactItems(
    op: Exclude<Operation, { kind: "policy" }>,
    head: Head | undefined,
    entry: ChainEntry,
    now: Date,
  ): TransactWriteItem[] {
    const table = this.options.tableName;
    const { record } = op;
    const headUpdate = this.headUpdate(head, entry);
    const entryPut = this.entryPut(entry);
    const sessionItem: Item = {
      ...keys.session(record.sessionId),
      version: { N: String(record.version) },
      status: { S: record.status },
      seq: { N: String(entry.seq) },
      day: { S: entry.day },
      record: { S: JSON.stringify(record) },
      // Sparse index of running sessions (the keeper fails the ones a timed-out function left behind); the next
      // version's Put drops these attributes, and the item leaves the index.
      ...(record.status === "running"
        ? { runningPk: { S: RUNNING_PARTITION }, runningAt: { S: entry.recordedAt } }
        : {}),
    };
    const sessionPut: TransactWriteItem = {
      Put: {
        TableName: table,
        Item: sessionItem,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        ...(op.kind === "create"
          ? { ConditionExpression: "attribute_not_exists(pk)" }
          : {
              ConditionExpression: "#version = :previous",
              ExpressionAttributeNames: { "#version": "version" },
              ExpressionAttributeValues: { ":previous": { N: String(record.version - 1) } },
            }),
      },
    };
    const items = [headUpdate, entryPut, sessionPut];
    if (op.kind === "create" && op.idempotency !== undefined) {
      items.push({
        Put: {
          TableName: table,
          Item: {
            ...keys.idempotency(op.idempotency),
            sessionId: { S: record.sessionId },
            expiresAt: { N: String(Math.floor(now.getTime() / 1000) + this.options.idempotencyTtlSeconds) },
          },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        },
      });
    }
    return items;
  }

  /** Reads why a transaction was cancelled; anything that isn't a cancellation means the store is unavailable. */
  private cancellation(error: unknown, op: Operation): Cancellation {
    const name = error instanceof Error ? error.name : "";
    if (name === "TransactionConflictException") return { kind: "contention" };
    if (name !== "TransactionCanceledException") {
      this.options.logger.warn("session store write failed", errorFields(error));
      throw unavailable(error);
    }
    const reasons =
      (error as { CancellationReasons?: { Code?: string; Item?: Item }[] }).CancellationReasons ?? [];
    const [headReason, entryReason, sessionReason, idemReason] = reasons;
    const failed = (reason: { Code?: string } | undefined) => reason?.Code === "ConditionalCheckFailed";
    if (failed(idemReason)) {
      const sessionId = idemReason?.Item?.sessionId?.S;
      if (sessionId !== undefined) return { kind: "idempotent", sessionId };
    }
    if (failed(sessionReason)) return { kind: "version_conflict" };
    if (failed(headReason)) return { kind: "head_moved", head: headFromItem(headReason?.Item) };
    if (failed(entryReason)) return { kind: "contention" };
    if (reasons.some((r) => r.Code === "TransactionConflict" || r.Code === "ThrottlingError")) {
      return { kind: "contention" };
    }
    this.options.logger.warn("session store transaction cancelled", {
      codes: reasons.map((r) => r.Code ?? "None").join(","),
      op: op.kind,
    });
    throw unavailable(error);
  }

  private async readHead(): Promise<void> {
    const item = await this.getItem(keys.head());
    this.head = headFromItem(item);
    this.headKnown = true;
  }

  private async getItem(key: Item): Promise<Item | undefined> {
    try {
      const result = await this.options.client.send(
        new GetItemCommand({ TableName: this.options.tableName, Key: key, ConsistentRead: true }),
      );
      return result.Item;
    } catch (error) {
      throw unavailable(error);
    }
  }

  private recordOf(item: Item): SessionRecord {
    try {
      return parseRecord(item.record?.S);
    } catch (error) {
      throw unavailable(error);
    }
  }
}

/** Every UTC day from `fromDay` to `toDay` inclusive (`YYYY-MM-DD`); empty when `toDay` comes first. */
export function daysBetween(fromDay: string, toDay: string): string[] {
  const days: string[] = [];
  const start = Date.parse(`${fromDay}T00:00:00Z`);
  const end = Date.parse(`${toDay}T00:00:00Z`);
  if (Number.isNaN(start) || Number.isNaN(end)) throw new TypeError("days must be YYYY-MM-DD");
  for (let t = start; t <= end; t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}
