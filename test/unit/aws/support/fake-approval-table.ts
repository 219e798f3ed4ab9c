// An in-memory approvals table answering the exact PutItem / GetItem / UpdateItem / Query shapes of the approval store.

import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type GetItemCommandInput,
  type PutItemCommandInput,
  type QueryCommandInput,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";

type Item = Record<string, AttributeValue>;

const keyOf = (key: Item | undefined): string => `${key?.pk?.S ?? ""}|${key?.sk?.N ?? ""}`;

/**
 * Evaluates the store's condition expressions on the stored item, the way DynamoDB would (an unknown expression is
 * a test failure), and applies its update expressions. Failed conditions carry the old item when asked (`ALL_OLD`).
 */
export class FakeApprovalTable {
  readonly items = new Map<string, Item>();
  /** Runs just before a write is evaluated (to inject a concurrent change). */
  beforeWrite: ((items: Map<string, Item>) => void) | undefined;

  put(input: PutItemCommandInput): Record<string, never> {
    const key = keyOf(input.Item);
    if (input.ConditionExpression !== "attribute_not_exists(pk)")
      throw new Error(`unexpected condition ${input.ConditionExpression}`);
    if (this.items.has(key)) throw this.failed(undefined, undefined);
    this.items.set(key, structuredClone(input.Item ?? {}));
    return {};
  }

  get(input: GetItemCommandInput): { Item?: Item } {
    const item = this.items.get(keyOf(input.Key));
    return item === undefined ? {} : { Item: structuredClone(item) };
  }

  query(input: QueryCommandInput): { Items: Item[] } {
    const open = input.ExpressionAttributeValues?.[":open"]?.S;
    return {
      Items: [...this.items.values()]
        .filter((item) => item.openPk?.S === open)
        .sort((a, b) => String(a.createdAt?.S).localeCompare(String(b.createdAt?.S)))
        .map((item) => structuredClone(item)),
    };
  }

  update(input: UpdateItemCommandInput): { Attributes?: Item } {
    this.beforeWrite?.(this.items);
    const key = keyOf(input.Key);
    const item = this.items.get(key);
    const v = input.ExpressionAttributeValues ?? {};
    if (!this.holds(input.ConditionExpression ?? "", item, v))
      throw this.failed(item, input.ReturnValuesOnConditionCheckFailure);
    if (item === undefined) throw new Error("update of a missing item without a condition");
    const next = structuredClone(item);
    const expression = input.UpdateExpression ?? "";
    if (expression.startsWith("SET #decisions")) {
      next.decisions = { L: [...(item.decisions?.L ?? []), ...(v[":decision"]?.L ?? [])] };
      next.status = v[":status"] as AttributeValue;
      next.decidedAt = v[":decidedAt"] as AttributeValue;
      next.version = v[":next"] as AttributeValue;
      next.updatedAt = v[":at"] as AttributeValue;
      next.approverKeys = { SS: [...(item.approverKeys?.SS ?? []), ...(v[":approverKeySet"]?.SS ?? [])] };
    } else if (expression.startsWith("SET #status = :to")) {
      next.status = v[":to"] as AttributeValue;
      next.version = { N: String(Number(item.version?.N) + 1) };
      next.updatedAt = v[":at"] as AttributeValue;
    } else if (expression.startsWith("SET #taskToken")) {
      next.taskToken = v[":token"] as AttributeValue;
      next.notifiedAt = v[":notifiedAt"] as AttributeValue;
      next.version = v[":next"] as AttributeValue;
      next.updatedAt = v[":at"] as AttributeValue;
    } else if (expression.startsWith("SET #params = :null")) {
      next.params = { NULL: true };
      next.closedAt = v[":at"] as AttributeValue;
      next.purgeAt = v[":purgeAt"] as AttributeValue;
      next.version = { N: String(Number(item.version?.N) + 1) };
      next.updatedAt = v[":at"] as AttributeValue;
      delete next.openPk;
    } else throw new Error(`unexpected update ${expression}`);
    this.items.set(key, next);
    return input.ReturnValues === "ALL_NEW" ? { Attributes: structuredClone(next) } : {};
  }

  private holds(condition: string, item: Item | undefined, v: Record<string, AttributeValue>): boolean {
    if (condition.startsWith("#version = :expected AND #status = :pending")) {
      return (
        item !== undefined &&
        item.version?.N === v[":expected"]?.N &&
        item.status?.S === "pending" &&
        Number(item.expiresAtMs?.N) > Number(v[":atMs"]?.N) &&
        !(item.approverKeys?.SS ?? []).includes(String(v[":approverKey"]?.S))
      );
    }
    if (condition.startsWith("#status IN (")) {
      const allowed = Object.entries(v)
        .filter(([name]) => name.startsWith(":from"))
        .map(([, value]) => value.S);
      return item !== undefined && allowed.includes(item.status?.S);
    }
    if (condition === "#version = :expected")
      return item !== undefined && item.version?.N === v[":expected"]?.N;
    if (condition === "attribute_exists(pk) AND attribute_type(#closedAt, :nullType)")
      return item !== undefined && item.closedAt?.NULL === true;
    throw new Error(`unexpected condition ${condition}`);
  }

  private failed(item: Item | undefined, returnValues: string | undefined): ConditionalCheckFailedException {
    return new ConditionalCheckFailedException({
      message: "The conditional request failed",
      $metadata: {},
      ...(item !== undefined && returnValues === "ALL_OLD" ? { Item: structuredClone(item) } : {}),
    });
  }
}
