// SessionStore on DynamoDB: each version one self-keyed entry item on the request path; one sequencer links the chain.

import {
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
import {
  type PolicyChangeRecord,
  type PolicyChanger,
  type PolicyRef,
  parseChainRecord,
  policyChange,
  policyChangeRecordSchema,
} from "#shared/sessions/policy-change.ts";
import { type SessionRecord, sessionRecordSchema } from "#shared/sessions/record.ts";
import {
  chainEntryOf,
  headFromItem,
  type Item,
  KEY_PREFIXES,
  keys,
  POLICY_ENTRIES,
} from "./dynamo-log-items.ts";
import { queryItems } from "./dynamo-query.ts";

export { HEAD_PK, KEY_PREFIXES, keys } from "./dynamo-log-items.ts";

/** The sparse index of running sessions and its one partition value. */
export const RUNNING_INDEX = "running-sessions";
export const RUNNING_PARTITION = "running";

/** Options of the DynamoDB store. */
export interface DynamoSessionStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** How long an idempotency item lives (DynamoDB TTL on `expiresAt`), seconds. */
  readonly idempotencyTtlSeconds: number;
  /** Attempts of a policy change that another function's change overtook (default 10). */
  readonly maxAttempts?: number;
  /** Waits between attempts (injectable for tests). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

type Write =
  | {
      readonly kind: "create";
      readonly record: SessionRecord;
      readonly idempotency: IdempotencyRef | undefined;
    }
  | { readonly kind: "update"; readonly record: SessionRecord };

/** Entry items read at once while the chain is read (one GetItem each). */
const FETCH_CONCURRENCY = 16;

function unavailable(error: unknown): UnavailableError {
  return new UnavailableError("store_unavailable", "the session store is unavailable", { cause: error });
}

/** The policy a stored item names (the policy-state item, or the head item of a chain written before it existed). */
function policyOf(item: Item | undefined): PolicyRef | undefined {
  const name = item?.policyName?.S;
  const digest = item?.policyDigest?.S;
  return name === undefined || digest === undefined ? undefined : { name, digest };
}

/**
 * A `SessionStore` on one DynamoDB table. A write is one `TransactWriteItems` of the session's own items only: the
 * version's entry `entry#<sessionId>` / version (`{requestedAt, record}`, never overwritten), the small latest-version
 * item `session#<sessionId>` (create: must not exist; update: must hold the previous version) and, for an idempotent
 * create, `idem#<scope>#<key>` (must not exist). No item is written by two requests, so requests never contend.
 * The chain (`seq`, `prev`, `digest`, the day's index `chain#<day>` / seq) and the transparency log over it are
 * built off the request path by the one sequencer (`DynamoLogSequencer`) from the table's stream; `entries` reads
 * that index, so a version appears there once sequenced (within the sequencer's merge delay).
 */
export class DynamoSessionStore implements SessionStore {
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
    if (record.version !== 1) throw new VersionConflictError("a new session starts at version 1");
    return this.write({ kind: "create", record, idempotency });
  }

  async update(record: SessionRecord): Promise<SessionRecord> {
    return (await this.write({ kind: "update", record })).record;
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
      unavailable,
    );
    for await (const item of items) {
      const pk = item.pk?.S ?? "";
      if (pk.startsWith(KEY_PREFIXES.session)) ids.push(pk.slice(KEY_PREFIXES.session.length));
    }
    return ids;
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const item = await this.getItem(keys.session(sessionId));
    if (item === undefined) return undefined;
    // A session item written before the sequencer holds its record; a newer one names the version's entry.
    const inline = item.record?.S;
    const text =
      inline ?? (await this.getItem(keys.entry(sessionId, Number(item.version?.N ?? "0"))))?.record?.S;
    try {
      if (text === undefined) throw new TypeError("the session's latest entry is missing");
      return sessionRecordSchema.parse(JSON.parse(text));
    } catch (error) {
      throw unavailable(error);
    }
  }

  async *entries(fromDay: string, toDay: string): AsyncIterable<ChainEntry> {
    const head = headFromItem(await this.getItem(keys.head()));
    if (head === undefined) return;
    const lastDay = head.recordedAt.slice(0, 10);
    const from = fromDay > head.firstDay ? fromDay : head.firstDay;
    const to = toDay < lastDay ? toDay : lastDay;
    for (const day of daysBetween(from, to)) {
      const items = queryItems(
        this.options.client,
        {
          TableName: this.options.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": keys.index(day, 0).pk },
          ScanIndexForward: true,
          ConsistentRead: true,
        },
        unavailable,
      );
      let page: Item[] = [];
      for await (const item of items) {
        // Index items past the head belong to a sequencer run that has not committed (it rewrites them).
        if (Number(item.sk?.N) > head.seq) break;
        page.push(item);
        if (page.length >= FETCH_CONCURRENCY) {
          yield* await this.resolve(page);
          page = [];
        }
      }
      yield* await this.resolve(page);
    }
  }

  /**
   * Appends a policy-change entry when the policy in force (the policy-state item) is not `policy`: one transaction
   * that moves the state item from the policy it names and puts the change's entry `entry#policy` / change number.
   * Functions starting together race on the state item (policy changes are rare): one appends, the others find the
   * policy recorded when they retry.
   */
  async recordPolicy(
    policy: PolicyRef,
    by: PolicyChanger,
    archived?: Promise<unknown>,
  ): Promise<PolicyChangeRecord | undefined> {
    const maxAttempts = this.options.maxAttempts ?? 10;
    for (let attempt = 1; ; attempt++) {
      const state = await this.getItem(keys.policyState());
      const current = policyOf(state) ?? policyOf(await this.getItem(keys.head()));
      if (current?.digest === policy.digest) return undefined;
      // The state read above may be stale by now; the transaction's condition on it decides, as for any race.
      await archived;
      const record = policyChangeRecordSchema.parse(policyChange(current ?? null, policy, by));
      const changes = Number(state?.changes?.N ?? "0");
      const statePut: TransactWriteItem = {
        Put: {
          TableName: this.options.tableName,
          Item: {
            ...keys.policyState(),
            policyName: { S: policy.name },
            policyDigest: { S: policy.digest },
            changes: { N: String(changes + 1) },
          },
          ...(state === undefined
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : {
                ConditionExpression: "#changes = :changes",
                ExpressionAttributeNames: { "#changes": "changes" },
                ExpressionAttributeValues: { ":changes": { N: String(changes) } },
              }),
        },
      };
      try {
        await this.options.client.send(
          new TransactWriteItemsCommand({
            TransactItems: [statePut, this.entryPut(POLICY_ENTRIES, changes + 1, record)],
          }),
        );
        return record;
      } catch (error) {
        this.cancellation(error, "policy");
      }
      if (attempt >= maxAttempts) {
        this.options.logger.error("policy changes kept overtaking this one", { attempts: attempt });
        throw unavailable(new Error("policy change contention"));
      }
      await this.sleep(Math.floor(this.random() * Math.min(200, 10 * 2 ** attempt)));
    }
  }

  private async resolve(page: readonly Item[]): Promise<ChainEntry[]> {
    return Promise.all(
      page.map(async (item) => {
        try {
          const whole = item.entry?.S;
          if (whole !== undefined) {
            const entry = JSON.parse(whole) as ChainEntry;
            return { ...entry, record: parseChainRecord(entry.record) };
          }
          const source = await this.getItem({
            pk: { S: item.entryPk?.S ?? "" },
            sk: { N: item.entrySk?.N ?? "0" },
          });
          const text = source?.record?.S;
          if (text === undefined) throw new TypeError("an index item names a missing entry");
          return chainEntryOf(item, text);
        } catch (error) {
          throw error instanceof UnavailableError ? error : unavailable(error);
        }
      }),
    );
  }

  /** A version's entry item, put once (`requestedAt` is the request's time; the sequencer dates the chain entry). */
  private entryPut(
    owner: string,
    version: number,
    record: SessionRecord | PolicyChangeRecord,
  ): TransactWriteItem {
    return {
      Put: {
        TableName: this.options.tableName,
        Item: {
          ...keys.entry(owner, version),
          requestedAt: { S: this.clock.now().toISOString() },
          record: { S: JSON.stringify(record) },
        },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    };
  }

  private async write(op: Write): Promise<{ created: boolean; record: SessionRecord }> {
    const maxAttempts = this.options.maxAttempts ?? 10;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.client.send(
          new TransactWriteItemsCommand({ TransactItems: this.transactItems(op) }),
        );
        return { created: op.kind === "create", record: op.record };
      } catch (error) {
        const cancellation = this.cancellation(error, op.kind);
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
      }
      // Only a transient conflict (DynamoDB's own, e.g. a concurrent read of the same item) gets here.
      if (attempt >= maxAttempts)
        throw unavailable(new Error("transaction conflicts exhausted the attempts"));
      await this.sleep(Math.floor(this.random() * Math.min(200, 10 * 2 ** attempt)));
    }
  }

  private transactItems(op: Write): TransactWriteItem[] {
    const table = this.options.tableName;
    const { record } = op;
    const now = this.clock.now();
    const sessionItem: Item = {
      ...keys.session(record.sessionId),
      version: { N: String(record.version) },
      status: { S: record.status },
      // Sparse index of running sessions (the keeper fails the ones a timed-out function left behind); the next
      // version's Put drops these attributes, and the item leaves the index.
      ...(record.status === "running"
        ? { runningPk: { S: RUNNING_PARTITION }, runningAt: { S: now.toISOString() } }
        : {}),
    };
    const items: TransactWriteItem[] = [
      this.entryPut(record.sessionId, record.version, record),
      {
        Put: {
          TableName: table,
          Item: sessionItem,
          ...(op.kind === "create"
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : {
                ConditionExpression: "#version = :previous",
                ExpressionAttributeNames: { "#version": "version" },
                ExpressionAttributeValues: { ":previous": { N: String(record.version - 1) } },
              }),
        },
      },
    ];
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

  /**
   * Reads why a transaction was cancelled: the idempotency item exists (a repeated create), the version exists or
   * the latest item holds another (a concurrent write of the same session), or a transient conflict (retried).
   * Anything else means the store is unavailable.
   */
  private cancellation(
    error: unknown,
    op: Write["kind"] | "policy",
  ): { kind: "idempotent"; sessionId: string } | { kind: "version_conflict" } | { kind: "retry" } {
    const name = error instanceof Error ? error.name : "";
    if (name === "TransactionConflictException") return { kind: "retry" };
    if (name !== "TransactionCanceledException") {
      this.options.logger.warn("session store write failed", errorFields(error));
      throw unavailable(error);
    }
    const reasons =
      (error as { CancellationReasons?: { Code?: string; Item?: Item }[] }).CancellationReasons ?? [];
    const failed = (reason: { Code?: string } | undefined) => reason?.Code === "ConditionalCheckFailed";
    const [entryReason, ownReason, idemReason] = reasons;
    if (op === "policy" && reasons.some(failed)) return { kind: "retry" };
    if (failed(idemReason)) {
      const sessionId = idemReason?.Item?.sessionId?.S;
      if (sessionId !== undefined) return { kind: "idempotent", sessionId };
    }
    if (failed(entryReason) || failed(ownReason)) return { kind: "version_conflict" };
    if (reasons.some((r) => r.Code === "TransactionConflict" || r.Code === "ThrottlingError")) {
      return { kind: "retry" };
    }
    this.options.logger.warn("session store transaction cancelled", {
      codes: reasons.map((r) => r.Code ?? "None").join(","),
      op,
    });
    throw unavailable(error);
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
