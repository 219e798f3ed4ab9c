// ApprovalStore on DynamoDB: one item per approval, every transition one conditional PutItem/UpdateItem.

import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import type { ApprovalState, ApprovalStatus } from "#shared/approval/approval-request.ts";
import {
  ConflictError,
  GoneError,
  NotFoundError,
  UnavailableError,
  VersionConflictError,
} from "#shared/errors.ts";
import type { ApprovalStore } from "#shared/ports.ts";
import {
  approvalKey,
  decisionAttribute,
  fromItem,
  type Item,
  OPEN_INDEX,
  OPEN_PARTITION,
  toItem,
} from "./approval-item.ts";
import { queryItems } from "./dynamo-query.ts";

/** Options of the store. */
export interface DynamoApprovalStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Days a closed approval is kept before DynamoDB's TTL removes it (`purgeAt`); the session record keeps the decisions. */
  readonly closedRetentionDays?: number;
  /** Attempts of a read-then-write (`setTask`) when the item changes in between (default 5). */
  readonly maxAttempts?: number;
}

function unavailable(error: unknown): UnavailableError {
  return new UnavailableError("store_unavailable", "the approval store is unavailable", { cause: error });
}

/** The item DynamoDB returned with a failed condition (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), or null. */
function conditionFailure(error: unknown): { item: Item | undefined } | null {
  if (error instanceof ConditionalCheckFailedException) return { item: error.Item };
  return null;
}

const notFound = (): NotFoundError => new NotFoundError("no such approval request");

/**
 * An `ApprovalStore` on the approvals table (`pk = approval#<id>`, `sk = 0`). The conditions mirror the file store's
 * checks, evaluated by DynamoDB on the stored item: `create` requires the key to be free; `appendDecision` requires
 * the expected version, status `pending`, an expiry after `at` and this approver's key absent from `approverKeys`;
 * `transition` requires one of the `from` statuses; `close` requires `closedAt` to be null (a closed item is returned
 * as it is). A failed condition returns the stored item (`ALL_OLD`), from which the error is told apart in the file
 * store's order: expired (410) before already decided before version conflict. Reads are strongly consistent.
 */
export class DynamoApprovalStore implements ApprovalStore {
  private readonly retentionSeconds: number;
  private readonly maxAttempts: number;

  constructor(private readonly options: DynamoApprovalStoreOptions) {
    this.retentionSeconds = (options.closedRetentionDays ?? 30) * 86_400;
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  async create(state: ApprovalState): Promise<void> {
    const item = toItem(state);
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: item,
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (conditionFailure(error) !== null)
        throw new ConflictError("approval_exists", "an approval with this id already exists");
      throw unavailable(error);
    }
  }

  async get(approvalId: string): Promise<ApprovalState | undefined> {
    let item: Item | undefined;
    try {
      const result = await this.options.client.send(
        new GetItemCommand({
          TableName: this.options.tableName,
          Key: approvalKey(approvalId),
          ConsistentRead: true,
        }),
      );
      item = result.Item;
    } catch (error) {
      throw unavailable(error);
    }
    return item === undefined ? undefined : fromItem(item);
  }

  async appendDecision(
    approvalId: string,
    change: Parameters<ApprovalStore["appendDecision"]>[1],
  ): Promise<ApprovalState> {
    const { decision, at } = change;
    const iso = at.toISOString();
    return this.update(
      approvalId,
      {
        UpdateExpression:
          "SET #decisions = list_append(#decisions, :decision), #status = :status, #decidedAt = :decidedAt, " +
          "#version = :next, #updatedAt = :at ADD #approverKeys :approverKeySet",
        ConditionExpression:
          "#version = :expected AND #status = :pending AND #expiresAtMs > :atMs AND " +
          "NOT contains(#approverKeys, :approverKey)",
        ExpressionAttributeNames: {
          "#decisions": "decisions",
          "#status": "status",
          "#decidedAt": "decidedAt",
          "#version": "version",
          "#updatedAt": "updatedAt",
          "#approverKeys": "approverKeys",
          "#expiresAtMs": "expiresAtMs",
        },
        ExpressionAttributeValues: {
          ":decision": { L: [decisionAttribute(decision)] },
          ":status": { S: change.status },
          ":decidedAt": change.status === "pending" ? { NULL: true } : { S: iso },
          ":next": { N: String(change.expectedVersion + 1) },
          ":expected": { N: String(change.expectedVersion) },
          ":at": { S: iso },
          ":atMs": { N: String(at.getTime()) },
          ":pending": { S: "pending" },
          ":approverKey": { S: decision.approverKey },
          ":approverKeySet": { SS: [decision.approverKey] },
        },
      },
      (current) => {
        if (current.status === "expired" || at.getTime() >= Date.parse(current.expiresAt))
          throw new GoneError("expired", "this approval request has expired");
        if (
          current.status !== "pending" ||
          current.decisions.some((d) => d.approverKey === decision.approverKey)
        )
          throw new ConflictError(
            "already_decided",
            "the request is closed or this approver already decided",
          );
        throw new VersionConflictError("the approval changed concurrently");
      },
    );
  }

  async transition(
    approvalId: string,
    from: readonly ApprovalStatus[],
    to: ApprovalStatus,
    at: Date,
  ): Promise<ApprovalState> {
    if (from.length === 0) throw new TypeError("transition needs at least one status to move from");
    const fromValues = Object.fromEntries(from.map((status, i) => [`:from${i}`, { S: status }]));
    return this.update(
      approvalId,
      {
        UpdateExpression: "SET #status = :to, #version = #version + :one, #updatedAt = :at",
        ConditionExpression: `#status IN (${Object.keys(fromValues).join(", ")})`,
        ExpressionAttributeNames: { "#status": "status", "#version": "version", "#updatedAt": "updatedAt" },
        ExpressionAttributeValues: {
          ...fromValues,
          ":to": { S: to },
          ":one": { N: "1" },
          ":at": { S: at.toISOString() },
        },
      },
      (current) => {
        throw new ConflictError(
          "status_conflict",
          `the approval is ${current.status}, not ${from.join(" or ")}`,
        );
      },
    );
  }

  async setTask(approvalId: string, change: Parameters<ApprovalStore["setTask"]>[1]): Promise<ApprovalState> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(approvalId);
      if (current === undefined) throw notFound();
      const notifiedAt = current.notifiedAt ?? change.notifiedAt?.toISOString() ?? null;
      if (current.taskToken === change.taskToken && current.notifiedAt === notifiedAt) return current;
      try {
        const result = await this.options.client.send(
          new UpdateItemCommand({
            TableName: this.options.tableName,
            Key: approvalKey(approvalId),
            UpdateExpression:
              "SET #taskToken = :token, #notifiedAt = :notifiedAt, #version = :next, #updatedAt = :at",
            ConditionExpression: "#version = :expected",
            ExpressionAttributeNames: {
              "#taskToken": "taskToken",
              "#notifiedAt": "notifiedAt",
              "#version": "version",
              "#updatedAt": "updatedAt",
            },
            ExpressionAttributeValues: {
              ":token": { S: change.taskToken },
              ":notifiedAt": notifiedAt === null ? { NULL: true } : { S: notifiedAt },
              ":next": { N: String(current.version + 1) },
              ":expected": { N: String(current.version) },
              ":at": { S: change.at.toISOString() },
            },
            ReturnValues: "ALL_NEW",
          }),
        );
        return fromItem(result.Attributes ?? {});
      } catch (error) {
        if (conditionFailure(error) === null) throw unavailable(error);
        if (attempt >= this.maxAttempts) throw new VersionConflictError("the approval changed concurrently");
      }
    }
  }

  close(approvalId: string, at: Date): Promise<ApprovalState> {
    return this.update(
      approvalId,
      {
        UpdateExpression:
          "SET #params = :null, #closedAt = :at, #purgeAt = :purgeAt, #version = #version + :one, " +
          "#updatedAt = :at REMOVE #openPk",
        ConditionExpression: "attribute_exists(pk) AND attribute_type(#closedAt, :nullType)",
        ExpressionAttributeNames: {
          "#params": "params",
          "#closedAt": "closedAt",
          "#purgeAt": "purgeAt",
          "#version": "version",
          "#updatedAt": "updatedAt",
          "#openPk": "openPk",
        },
        ExpressionAttributeValues: {
          ":null": { NULL: true },
          ":at": { S: at.toISOString() },
          ":purgeAt": { N: String(Math.floor(at.getTime() / 1000) + this.retentionSeconds) },
          ":one": { N: "1" },
          ":nullType": { S: "NULL" },
        },
      },
      // Already closed: answered as it is.
      (current) => current,
    );
  }

  /**
   * One conditional UpdateItem of the approval, answering the item as it is after. When the condition fails,
   * `onConflict` gets the stored item (`ALL_OLD`) and decides (throw, or answer it); a missing item is not found,
   * any other failure 503.
   */
  private async update(
    approvalId: string,
    expression: Pick<
      UpdateItemCommandInput,
      "UpdateExpression" | "ConditionExpression" | "ExpressionAttributeNames" | "ExpressionAttributeValues"
    >,
    onConflict: (current: ApprovalState) => ApprovalState,
  ): Promise<ApprovalState> {
    try {
      const result = await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: approvalKey(approvalId),
          ...expression,
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return fromItem(result.Attributes ?? {});
    } catch (error) {
      const failed = conditionFailure(error);
      if (failed === null) throw unavailable(error);
      if (failed.item === undefined) throw notFound();
      return onConflict(fromItem(failed.item));
    }
  }

  async listOpen(): Promise<ApprovalState[]> {
    const open: ApprovalState[] = [];
    const items = queryItems(
      this.options.client,
      {
        TableName: this.options.tableName,
        IndexName: OPEN_INDEX,
        KeyConditionExpression: "#openPk = :open",
        ExpressionAttributeNames: { "#openPk": "openPk" },
        ExpressionAttributeValues: { ":open": { S: OPEN_PARTITION } },
      },
      unavailable,
    );
    for await (const item of items) {
      const state = fromItem(item);
      if (state.closedAt === null) open.push(state);
    }
    return open;
  }
}
