// DynamoDB stand-in (JSON 1.0 protocol): the tables of the template with their keys and global secondary indexes;
// GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan and TransactWriteItems with conditions, as the stores use them,
// and a table's stream (inserts, in commit order, in the shape Lambda's event source mapping hands a function).
// Pinned to the DynamoDB API reference: ConditionalCheckFailedException (with Item for ALL_OLD),
// TransactionCanceledException with CancellationReasons, one operation per item per transaction, 100 actions, 400 KB
// items, 1 MB query pages, no consistent reads on global secondary indexes; IAM actions per operation with
// `dynamodb:LeadingKeys` (the partition key values) as the condition key; Query projects top-level attributes.

import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  applyUpdate,
  conditionHolds,
  equal,
  type Item,
  keyCondition,
  Placeholders,
} from "./dynamodb-expressions.ts";
import {
  jsonBody,
  jsonResponse,
  type LoopbackService,
  type ServiceCall,
  ServiceError,
  targetOperation,
  type WireResponse,
} from "./service.ts";
import type { ResolvedStack } from "./template.ts";

const validation = (message: string): ServiceError => new ServiceError(400, "ValidationException", message);

interface KeySchema {
  readonly partition: string;
  readonly sort: string | undefined;
}

interface Table {
  readonly name: string;
  readonly arn: string;
  readonly key: KeySchema;
  readonly indexes: ReadonlyMap<string, KeySchema>;
  readonly items: Map<string, Item>;
  /** The table's stream (`NEW_IMAGE`), when its template enables one: every insert, in commit order. */
  readonly stream: StreamRecordOut[] | undefined;
}

/** One record of a table's stream, in the shape Lambda hands a function (inserts only: the stores never delete). */
export interface StreamRecordOut {
  readonly eventID: string;
  readonly eventName: "INSERT";
  readonly eventVersion: "1.1";
  readonly eventSource: "aws:dynamodb";
  readonly awsRegion: string;
  readonly eventSourceARN: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    readonly Keys: Item;
    readonly NewImage: Item;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: "NEW_IMAGE";
  };
  /** When the insert was committed (ms, `performance.now()`): the harness measures the merge delay from it. */
  readonly committedAt: number;
}

function schemaOf(keySchema: { AttributeName: string; KeyType: string }[]): KeySchema {
  return {
    partition: keySchema.find((k) => k.KeyType === "HASH")?.AttributeName ?? "",
    sort: keySchema.find((k) => k.KeyType === "RANGE")?.AttributeName,
  };
}

const scalar = (v: AttributeValue | undefined): string => (v === undefined ? "" : JSON.stringify(v));

/** Approximate item size as DynamoDB counts it: attribute names plus value bytes. */
function itemSize(item: Item): number {
  const size = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.length / 2) + 1;
    if (v.B !== undefined) return v.B.length;
    if (v.SS !== undefined) return v.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
    if (v.NS !== undefined) return v.NS.reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0);
    if (v.L !== undefined) return 3 + v.L.reduce((n, e) => n + 1 + size(e), 0);
    if (v.M !== undefined)
      return 3 + Object.entries(v.M).reduce((n, [k, e]) => n + 1 + Buffer.byteLength(k) + size(e), 0);
    return 1;
  };
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + size(v), 0);
}

function compareKeys(a: AttributeValue | undefined, b: AttributeValue | undefined): number {
  if (a?.N !== undefined && b?.N !== undefined) return Number(a.N) - Number(b.N);
  const x = a?.S ?? "";
  const y = b?.S ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The DynamoDB stand-in. */
export class DynamoDbStandIn implements LoopbackService {
  readonly signingName = "dynamodb";
  readonly protocol = "awsJson1_0" as const;
  readonly errorNamespace = "com.amazonaws.dynamodb.v20120810";
  private readonly tables = new Map<string, Table>();
  /** Operations that fail with ProvisionedThroughputExceededException/ThrottlingException next (tests inject them). */
  readonly throttleNext: string[] = [];

  constructor(stack: ResolvedStack) {
    for (const resource of stack.ofType("AWS::DynamoDB::Table")) {
      const p = resource.properties as {
        KeySchema: { AttributeName: string; KeyType: string }[];
        StreamSpecification?: { StreamViewType: string };
        GlobalSecondaryIndexes?: {
          IndexName: string;
          KeySchema: { AttributeName: string; KeyType: string }[];
        }[];
      };
      const name = stack.ref(resource.logicalId);
      this.tables.set(name, {
        name,
        arn: stack.getAtt(resource.logicalId, "Arn"),
        key: schemaOf(p.KeySchema),
        indexes: new Map((p.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, schemaOf(g.KeySchema)])),
        items: new Map(),
        stream: p.StreamSpecification === undefined ? undefined : [],
      });
    }
  }

  /** The stream of the table named `tableName` (the harness's event source mappings read it). */
  stream(tableName: string): readonly StreamRecordOut[] {
    return this.table(tableName).stream ?? [];
  }

  private sequence = 0;

  /** Stores an item, adding an insert to the table's stream. */
  private store(table: Table, id: string, old: Item | undefined, next: Item): void {
    table.items.set(id, next);
    if (old !== undefined || table.stream === undefined) return;
    this.sequence += 1;
    const image = structuredClone(next);
    table.stream.push({
      eventID: String(this.sequence),
      eventName: "INSERT",
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: table.arn.split(":")[3] ?? "",
      eventSourceARN: `${table.arn}/stream/loopback`,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: this.keyFromItem(table, image),
        NewImage: image,
        SequenceNumber: String(this.sequence).padStart(21, "0"),
        SizeBytes: itemSize(image),
        StreamViewType: "NEW_IMAGE",
      },
      committedAt: performance.now(),
    });
  }

  /** Every item of a table (tests read what the stores wrote). */
  items(tableName: string): Item[] {
    return [...this.table(tableName).items.values()];
  }

  async handle(call: ServiceCall): Promise<WireResponse> {
    const operation = targetOperation(call.request, "DynamoDB_20120810");
    call.operation(operation);
    const input = jsonBody(call.request);
    if (this.throttleNext[0] === operation) {
      this.throttleNext.shift();
      throw new ServiceError(400, "ThrottlingException", "Rate of requests exceeds the allowed throughput.");
    }
    switch (operation) {
      case "GetItem":
        return jsonResponse(this.protocol, this.getItem(call, input));
      case "PutItem":
        return jsonResponse(this.protocol, this.writeOne(call, "PutItem", input));
      case "UpdateItem":
        return jsonResponse(this.protocol, this.writeOne(call, "UpdateItem", input));
      case "DeleteItem":
        return jsonResponse(this.protocol, this.writeOne(call, "DeleteItem", input));
      case "Query":
        return jsonResponse(this.protocol, this.query(call, input));
      case "Scan":
        return jsonResponse(this.protocol, this.scan(call, input));
      case "TransactWriteItems":
        return jsonResponse(this.protocol, this.transactWrite(call, input));
      default:
        throw new ServiceError(
          400,
          "UnknownOperationException",
          `the stand-in does not implement ${operation}`,
        );
    }
  }

  private table(name: unknown): Table {
    const table = this.tables.get(String(name));
    if (table === undefined)
      throw new ServiceError(400, "ResourceNotFoundException", "Requested resource not found");
    return table;
  }

  private keyOf(table: Table, key: Item | undefined): string {
    const k = key ?? {};
    const names = Object.keys(k);
    const wanted = [table.key.partition, ...(table.key.sort === undefined ? [] : [table.key.sort])];
    if (names.length !== wanted.length || !wanted.every((n) => k[n] !== undefined))
      throw validation("The provided key element does not match the schema");
    return wanted.map((n) => scalar(k[n])).join("|");
  }

  private keyFromItem(table: Table, item: Item): Item {
    const key: Item = { [table.key.partition]: item[table.key.partition] as AttributeValue };
    if (table.key.sort !== undefined) key[table.key.sort] = item[table.key.sort] as AttributeValue;
    return key;
  }

  private leadingKey(table: Table, key: Item): string[] {
    const v = key[table.key.partition];
    return [v?.S ?? v?.N ?? ""];
  }

  private getItem(call: ServiceCall, input: Record<string, unknown>): unknown {
    const table = this.table(input.TableName);
    const key = input.Key as Item;
    call.authorize("dynamodb:GetItem", table.arn, { "dynamodb:LeadingKeys": this.leadingKey(table, key) });
    const item = table.items.get(this.keyOf(table, key));
    return item === undefined ? {} : { Item: item };
  }

  /** Checks, evaluates and applies one write; returns the new item (undefined: delete) and the old one. */
  private prepare(
    call: ServiceCall,
    action: "PutItem" | "UpdateItem" | "DeleteItem" | "ConditionCheckItem",
    input: Record<string, unknown>,
  ): { table: Table; id: string; old: Item | undefined; next: Item | undefined; passed: boolean } {
    const table = this.table(input.TableName);
    const key =
      action === "PutItem" ? this.keyFromItem(table, (input.Item ?? {}) as Item) : (input.Key as Item);
    const id = this.keyOf(table, key);
    call.authorize(`dynamodb:${action}`, table.arn, { "dynamodb:LeadingKeys": this.leadingKey(table, key) });
    const ph = new Placeholders(
      input.ExpressionAttributeNames as Record<string, string> | undefined,
      input.ExpressionAttributeValues as Record<string, AttributeValue> | undefined,
    );
    const old = table.items.get(id);
    const condition = input.ConditionExpression as string | undefined;
    if (action === "ConditionCheckItem" && condition === undefined)
      throw validation("ConditionCheck requires a ConditionExpression");
    const passed = condition === undefined ? true : conditionHolds(condition, old, ph);
    let next: Item | undefined;
    if (action === "PutItem") next = input.Item as Item;
    else if (action === "UpdateItem") {
      const expression = input.UpdateExpression as string | undefined;
      if (expression === undefined) throw validation("UpdateExpression is required");
      next = applyUpdate(expression, old ?? structuredClone(key), ph);
      for (const name of Object.keys(key)) {
        if (!equal(next[name], key[name]))
          throw validation(
            `One or more parameter values were invalid: Cannot update attribute ${name}. This attribute is part of the key`,
          );
      }
    } else if (action === "ConditionCheckItem") next = old;
    ph.checkAllUsed();
    if (next !== undefined && itemSize(next) > 400 * 1024)
      throw validation("Item size has exceeded the maximum allowed size");
    return { table, id, old, next, passed };
  }

  private writeOne(
    call: ServiceCall,
    action: "PutItem" | "UpdateItem" | "DeleteItem",
    input: Record<string, unknown>,
  ): unknown {
    const { table, id, old, next, passed } = this.prepare(call, action, input);
    if (!passed) {
      throw new ServiceError(400, "ConditionalCheckFailedException", "The conditional request failed", {
        ...(input.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && old !== undefined
          ? { Item: old }
          : {}),
      });
    }
    if (next === undefined) table.items.delete(id);
    else this.store(table, id, old, next);
    const returnValues = input.ReturnValues ?? "NONE";
    if (returnValues === "ALL_NEW" && next !== undefined) return { Attributes: next };
    if (returnValues === "ALL_OLD" && old !== undefined) return { Attributes: old };
    return {};
  }

  private query(call: ServiceCall, input: Record<string, unknown>): unknown {
    const table = this.table(input.TableName);
    const indexName = input.IndexName as string | undefined;
    const schema = indexName === undefined ? table.key : table.indexes.get(indexName);
    if (schema === undefined) throw validation(`The table does not have the specified index: ${indexName}`);
    if (indexName !== undefined && input.ConsistentRead === true)
      throw validation("Consistent reads are not supported on global secondary indexes");
    const ph = new Placeholders(
      input.ExpressionAttributeNames as Record<string, string> | undefined,
      input.ExpressionAttributeValues as Record<string, AttributeValue> | undefined,
    );
    const condition = keyCondition(
      String(input.KeyConditionExpression ?? ""),
      schema.partition,
      schema.sort,
      ph,
    );
    const filter = input.FilterExpression as string | undefined;
    const resource = indexName === undefined ? table.arn : `${table.arn}/index/${indexName}`;
    const partitionValue = condition.partition.value.S ?? condition.partition.value.N ?? "";
    call.authorize("dynamodb:Query", resource, { "dynamodb:LeadingKeys": [partitionValue] });
    let matches = [...table.items.values()]
      .filter((item) => equal(item[schema.partition], condition.partition.value))
      .filter((item) => condition.sort?.(item) ?? true)
      .sort((a, b) => compareKeys(a[schema.sort ?? ""], b[schema.sort ?? ""]));
    if (input.ScanIndexForward === false) matches.reverse();
    const start = input.ExclusiveStartKey as Item | undefined;
    if (start !== undefined) {
      const at = matches.findIndex(
        (item) =>
          this.keyOf(table, this.keyFromItem(table, item)) ===
          this.keyOf(table, this.keyFromItem(table, start)),
      );
      matches = at < 0 ? [] : matches.slice(at + 1);
    }
    const limit = typeof input.Limit === "number" ? input.Limit : Number.POSITIVE_INFINITY;
    const page: Item[] = [];
    let bytes = 0;
    for (const item of matches) {
      if (page.length >= limit || bytes >= 1024 * 1024) break;
      page.push(item);
      bytes += itemSize(item);
    }
    const filtered = filter === undefined ? page : page.filter((item) => conditionHolds(filter, item, ph));
    // A projection of top-level attributes (names or `#placeholders`), as the gateway's queries use it.
    const projection =
      typeof input.ProjectionExpression === "string"
        ? input.ProjectionExpression.split(",").map((path) => ph.name(path.trim()))
        : undefined;
    const items =
      projection === undefined
        ? filtered
        : filtered.map((item) =>
            Object.fromEntries(Object.entries(item).filter(([name]) => projection.includes(name))),
          );
    ph.checkAllUsed();
    const last = page[page.length - 1];
    const more = last !== undefined && page.length < matches.length;
    return {
      Items: items,
      Count: items.length,
      ScannedCount: page.length,
      ...(more && last !== undefined
        ? {
            LastEvaluatedKey: {
              ...this.keyFromItem(table, last),
              ...(indexName === undefined
                ? {}
                : {
                    [schema.partition]: last[schema.partition],
                    ...(schema.sort === undefined ? {} : { [schema.sort]: last[schema.sort] }),
                  }),
            },
          }
        : {}),
    };
  }

  /** A whole-table Scan with an optional filter, in pages of 1 MB or `Limit` items read (the log sequencer's gap scan). */
  private scan(call: ServiceCall, input: Record<string, unknown>): unknown {
    const table = this.table(input.TableName);
    call.authorize("dynamodb:Scan", table.arn, {});
    const ph = new Placeholders(
      input.ExpressionAttributeNames as Record<string, string> | undefined,
      input.ExpressionAttributeValues as Record<string, AttributeValue> | undefined,
    );
    const filter = input.FilterExpression as string | undefined;
    let all = [...table.items.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const start = input.ExclusiveStartKey as Item | undefined;
    if (start !== undefined) {
      const startId = this.keyOf(table, start);
      all = all.filter(([id]) => id > startId);
    }
    const limit = typeof input.Limit === "number" ? input.Limit : Number.POSITIVE_INFINITY;
    const page: Item[] = [];
    let bytes = 0;
    for (const [, item] of all) {
      if (bytes >= 1024 * 1024 || page.length >= limit) break;
      page.push(item);
      bytes += itemSize(item);
    }
    const items = filter === undefined ? page : page.filter((item) => conditionHolds(filter, item, ph));
    ph.checkAllUsed();
    const last = page[page.length - 1];
    return {
      Items: items,
      Count: items.length,
      ScannedCount: page.length,
      ...(last !== undefined && page.length < all.length
        ? { LastEvaluatedKey: this.keyFromItem(table, last) }
        : {}),
    };
  }

  private transactWrite(call: ServiceCall, input: Record<string, unknown>): unknown {
    const actions = (input.TransactItems ?? []) as Record<string, Record<string, unknown>>[];
    if (actions.length === 0 || actions.length > 100)
      throw validation("Member must have length less than or equal to 100 and greater than or equal to 1");
    const names: Record<string, "PutItem" | "UpdateItem" | "DeleteItem" | "ConditionCheckItem"> = {
      Put: "PutItem",
      Update: "UpdateItem",
      Delete: "DeleteItem",
      ConditionCheck: "ConditionCheckItem",
    };
    const prepared = actions.map((action) => {
      const entries = Object.entries(action).filter(([, v]) => v !== undefined);
      if (entries.length !== 1) throw validation("TransactItems entries must hold exactly one action");
      const [[kind, body]] = entries as [[string, Record<string, unknown>]];
      const name = names[kind];
      if (name === undefined) throw validation(`unknown transaction action ${kind}`);
      return { body, ...this.prepare(call, name, body) };
    });
    const ids = prepared.map((p) => `${p.table.name}|${p.id}`);
    if (new Set(ids).size !== ids.length)
      throw validation("Transaction request cannot include multiple operations on one item");
    if (prepared.some((p) => !p.passed)) {
      const reasons = prepared.map((p) =>
        p.passed
          ? { Code: "None" }
          : {
              Code: "ConditionalCheckFailed",
              Message: "The conditional request failed",
              ...(p.body.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && p.old !== undefined
                ? { Item: p.old }
                : {}),
            },
      );
      throw new ServiceError(
        400,
        "TransactionCanceledException",
        `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(", ")}]`,
        { CancellationReasons: reasons },
      );
    }
    for (const p of prepared) {
      if (p.next === undefined) p.table.items.delete(p.id);
      else this.store(p.table, p.id, p.old, p.next);
    }
    return {};
  }
}
