// An in-memory table answering the exact GetItem / Query / TransactWriteItems shapes the DynamoDB session store sends.

import {
  type AttributeValue,
  type GetItemCommandInput,
  type QueryCommandInput,
  TransactionCanceledException,
  type TransactWriteItem,
  type TransactWriteItemsCommandInput,
} from "@aws-sdk/client-dynamodb";

type Item = Record<string, AttributeValue>;

const keyOf = (key: Item | undefined): string => `${key?.pk?.S ?? ""}|${key?.sk?.N ?? ""}`;

/**
 * Evaluates the store's conditions (`attribute_not_exists(pk)`, `#seq = :expected`, `#version = :previous`)
 * and applies a transaction all-or-nothing, cancelling with per-item reasons and ALL_OLD items like DynamoDB.
 */
export class FakeTable {
  readonly items = new Map<string, Item>();
  transactions = 0;

  getItem(input: GetItemCommandInput): { Item?: Item } {
    const item = this.items.get(keyOf(input.Key));
    return item === undefined ? {} : { Item: structuredClone(item) };
  }

  query(input: QueryCommandInput): { Items: Item[]; LastEvaluatedKey?: Item } {
    if (input.IndexName === "running-sessions") return this.running(input);
    const pk = input.ExpressionAttributeValues?.[":pk"]?.S;
    const all = [...this.items.values()]
      .filter((item) => item.pk?.S === pk)
      .sort((a, b) => Number(a.sk?.N) - Number(b.sk?.N));
    const start = input.ExclusiveStartKey === undefined ? 0 : Number(input.ExclusiveStartKey.sk?.N);
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
      throw new TransactionCanceledException({
        message: "Transaction cancelled",
        $metadata: {},
        CancellationReasons: reasons,
      });
    }
    for (const op of ops) this.apply(op);
    return {};
  }

  private check(op: TransactWriteItem): { Code: string; Item?: Item } {
    const target = op.Update ?? op.Put;
    const key = op.Update?.Key ?? op.Put?.Item;
    const existing = this.items.get(keyOf(key));
    const condition = target?.ConditionExpression ?? "";
    const values = target?.ExpressionAttributeValues ?? {};
    let ok = true;
    if (condition === "attribute_not_exists(pk)") ok = existing === undefined;
    else if (condition === "#seq = :expected") ok = existing?.seq?.N === values[":expected"]?.N;
    else if (condition === "#version = :previous") ok = existing?.version?.N === values[":previous"]?.N;
    else if (condition !== "") throw new Error(`unexpected condition ${condition}`);
    if (ok) return { Code: "None" };
    return existing !== undefined && target?.ReturnValuesOnConditionCheckFailure === "ALL_OLD"
      ? { Code: "ConditionalCheckFailed", Item: structuredClone(existing) }
      : { Code: "ConditionalCheckFailed" };
  }

  private apply(op: TransactWriteItem): void {
    if (op.Put?.Item !== undefined) {
      this.items.set(keyOf(op.Put.Item), structuredClone(op.Put.Item));
      return;
    }
    const update = op.Update;
    if (update?.Key === undefined) return;
    const values = update.ExpressionAttributeValues ?? {};
    const current = this.items.get(keyOf(update.Key)) ?? { ...update.Key };
    const next: Item = {
      ...current,
      seq: values[":next"] as AttributeValue,
      digest: values[":digest"] as AttributeValue,
      recordedAt: values[":recordedAt"] as AttributeValue,
      firstDay: current.firstDay ?? (values[":day"] as AttributeValue),
      ...(values[":policyDigest"] === undefined
        ? {}
        : { policyName: values[":policyName"] as AttributeValue, policyDigest: values[":policyDigest"] }),
    };
    this.items.set(keyOf(update.Key), next);
  }
}
