// An in-memory session table answering GetItem / PutItem / UpdateItem / Query / Scan / TransactWriteItems, with a stream.

import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type GetItemCommandInput,
  type PutItemCommandInput,
  type QueryCommandInput,
  type ScanCommandInput,
  TransactionCanceledException,
  type TransactWriteItem,
  type TransactWriteItemsCommandInput,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import type { StreamRecord } from "#infra/aws/adapters/dynamo-log-sequencer.ts";
import {
  applyUpdate,
  conditionHolds,
  keyCondition,
  Placeholders,
} from "#test/support/aws/dynamodb-expressions.ts";

type Item = Record<string, AttributeValue>;

/** Approximate item size as DynamoDB counts it (attribute names plus value bytes). */
export function itemBytes(item: Item): number {
  const size = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.length / 2) + 1;
    if (v.B !== undefined) return v.B.length;
    if (v.L !== undefined) return 3 + v.L.reduce((n, e) => n + 1 + size(e), 0);
    return 1;
  };
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + size(v), 0);
}

/** Write capacity units of one write: 1 per KB (rounded up) of the larger of the old and new item, twice in a transaction. */
const units = (item: Item, old: Item | undefined, transactional: boolean): number =>
  Math.ceil(Math.max(itemBytes(item), old === undefined ? 0 : itemBytes(old)) / 1024) *
  (transactional ? 2 : 1);

const keyOf = (key: Item | undefined): string => `${key?.pk?.S ?? ""}|${key?.sk?.N ?? ""}`;

const placeholders = (input: {
  ExpressionAttributeNames?: Record<string, string> | undefined;
  ExpressionAttributeValues?: Record<string, AttributeValue> | undefined;
}) => new Placeholders(input.ExpressionAttributeNames, input.ExpressionAttributeValues);

/**
 * Evaluates conditions and updates with the DynamoDB stand-in's expression grammar, applies a transaction
 * all-or-nothing (cancelling with per-item reasons and ALL_OLD items like DynamoDB), and records every insert as a
 * stream record (`NEW_IMAGE`), in order, for the sequencer. Query pages hold two items, to exercise pagination.
 */
export class FakeTable {
  readonly items = new Map<string, Item>();
  /** Inserts in commit order, as DynamoDB Streams delivers them. */
  readonly stream: StreamRecord[] = [];
  transactions = 0;
  /** Conditional failures (single writes) and cancelled transactions, for contention counts. */
  conflicts = 0;
  /** Write capacity units consumed by successful writes, transactional ones and single ones. */
  readonly writeUnits = { transactional: 0, single: 0 };

  getItem(input: GetItemCommandInput): { Item?: Item } {
    const item = this.items.get(keyOf(input.Key));
    return item === undefined ? {} : { Item: structuredClone(item) };
  }

  putItem(input: PutItemCommandInput): Record<string, never> {
    const item = input.Item ?? {};
    this.require(input.ConditionExpression, this.items.get(keyOf(item)), input);
    this.writeUnits.single += units(item, this.items.get(keyOf(item)), false);
    this.set(item);
    return {};
  }

  updateItem(input: UpdateItemCommandInput): Record<string, never> {
    const existing = this.items.get(keyOf(input.Key));
    this.require(input.ConditionExpression, existing, input);
    const next = applyUpdate(
      input.UpdateExpression ?? "",
      structuredClone(existing ?? { ...input.Key }),
      placeholders(input),
    );
    this.writeUnits.single += units(next, existing, false);
    this.set(next);
    return {};
  }

  query(input: QueryCommandInput): { Items: Item[]; LastEvaluatedKey?: Item } {
    if (input.IndexName === "running-sessions") return this.running(input);
    const condition = keyCondition(input.KeyConditionExpression ?? "", "pk", "sk", placeholders(input));
    const all = [...this.items.values()]
      .filter((item) => item.pk?.S === condition.partition.value.S && (condition.sort?.(item) ?? true))
      .sort((a, b) => Number(a.sk?.N) - Number(b.sk?.N));
    const start = input.ExclusiveStartKey === undefined ? -Infinity : Number(input.ExclusiveStartKey.sk?.N);
    const page = all.filter((item) => Number(item.sk?.N) > start).slice(0, 2);
    const last = page[page.length - 1];
    const more = last !== undefined && all.some((item) => Number(item.sk?.N) > Number(last.sk?.N));
    return {
      Items: structuredClone(page),
      ...(more && last !== undefined
        ? { LastEvaluatedKey: { pk: last.pk as AttributeValue, sk: last.sk as AttributeValue } }
        : {}),
    };
  }

  /** One page (`Limit` items read, after `ExclusiveStartKey`) of the items matching the filter (the gap scan). */
  scan(input: ScanCommandInput): { Items: Item[]; LastEvaluatedKey?: Item } {
    const ph = placeholders(input);
    const all = [...this.items.keys()].sort();
    const from = input.ExclusiveStartKey === undefined ? 0 : all.indexOf(keyOf(input.ExclusiveStartKey)) + 1;
    const read = all.slice(from, from + (input.Limit ?? all.length));
    const items = read
      .map((id) => this.items.get(id) as Item)
      .filter(
        (item) => input.FilterExpression === undefined || conditionHolds(input.FilterExpression, item, ph),
      );
    const last =
      read.length > 0 && from + read.length < all.length
        ? this.items.get(read[read.length - 1] as string)
        : undefined;
    return {
      Items: structuredClone(items),
      ...(last === undefined
        ? {}
        : { LastEvaluatedKey: { pk: last.pk as AttributeValue, sk: last.sk as AttributeValue } }),
    };
  }

  /** The sparse running-sessions index (keys only, one page, ordered by `runningAt`). */
  private running(input: QueryCommandInput): { Items: Item[] } {
    const values = input.ExpressionAttributeValues ?? {};
    const items = [...this.items.values()]
      .filter(
        (i) =>
          i.runningPk?.S === values[":running"]?.S && String(i.runningAt?.S) < String(values[":before"]?.S),
      )
      .sort((a, b) => String(a.runningAt?.S).localeCompare(String(b.runningAt?.S)));
    return {
      Items: items.map((i) => ({
        pk: i.pk as AttributeValue,
        sk: i.sk as AttributeValue,
        runningPk: i.runningPk as AttributeValue,
        runningAt: i.runningAt as AttributeValue,
      })),
    };
  }

  transactWrite(input: TransactWriteItemsCommandInput): Record<string, never> {
    this.transactions++;
    const ops = input.TransactItems ?? [];
    const reasons = ops.map((op) => this.check(op));
    if (reasons.some((r) => r.Code === "ConditionalCheckFailed")) {
      this.conflicts++;
      throw new TransactionCanceledException({
        message: "Transaction cancelled",
        $metadata: {},
        CancellationReasons: reasons,
      });
    }
    for (const op of ops) {
      const target = op.Put?.Item ?? op.Update?.Key;
      if (op.Put?.Item !== undefined)
        this.writeUnits.transactional += units(op.Put.Item, this.items.get(keyOf(target)), true);
      if (op.Put?.Item !== undefined) this.set(op.Put.Item);
      else if (op.Update !== undefined) {
        const existing = this.items.get(keyOf(op.Update.Key));
        this.set(
          applyUpdate(
            op.Update.UpdateExpression ?? "",
            structuredClone(existing ?? { ...op.Update.Key }),
            placeholders(op.Update),
          ),
        );
      }
    }
    return {};
  }

  private check(op: TransactWriteItem): { Code: string; Item?: Item } {
    const target = op.Update ?? op.Put;
    const key = op.Update?.Key ?? op.Put?.Item;
    const existing = this.items.get(keyOf(key));
    const condition = target?.ConditionExpression;
    if (
      target === undefined ||
      condition === undefined ||
      conditionHolds(condition, existing, placeholders(target))
    ) {
      return { Code: "None" };
    }
    return existing !== undefined && target.ReturnValuesOnConditionCheckFailure === "ALL_OLD"
      ? { Code: "ConditionalCheckFailed", Item: structuredClone(existing) }
      : { Code: "ConditionalCheckFailed" };
  }

  private require(
    condition: string | undefined,
    existing: Item | undefined,
    input: Parameters<typeof placeholders>[0],
  ): void {
    if (condition === undefined || conditionHolds(condition, existing, placeholders(input))) return;
    this.conflicts++;
    throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
  }

  private set(item: Item): void {
    const id = keyOf(item);
    const inserted = !this.items.has(id);
    this.items.set(id, structuredClone(item));
    if (inserted) {
      this.stream.push({
        eventName: "INSERT",
        dynamodb: {
          Keys: { pk: item.pk as AttributeValue, sk: item.sk as AttributeValue },
          NewImage: structuredClone(item),
        },
      });
    }
  }
}
