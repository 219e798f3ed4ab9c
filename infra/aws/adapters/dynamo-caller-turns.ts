// The AWS caller turns: a lease item per caller in the sessions table, taken by a conditional put, given back by a
// conditional delete, so a caller's windowed statements are admitted one at a time across function instances.

import { randomUUID } from "node:crypto";
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DATA_API_CALL_LIMIT_MS, RESERVE_MS } from "#infra/aws/adapters/rds-data-budget.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { TurnBusyError, UnavailableError } from "#shared/errors.ts";
import { errorFields, type Logger } from "#shared/log.ts";
import type { CallerTurns } from "#shared/ports.ts";
import { remainingInvocationMs } from "./invocation-deadline.ts";

/** Leading key of the lease items (`turn#<sha256 of the principal key>`), for IAM conditions. */
export const TURN_KEY_PREFIX = "turn#";

/**
 * What a turn holds beyond its statement: the decision taken again (its row estimate may take 5 s), recording the
 * session and storing the result (the statement's reserve), and clock skew between function instances.
 */
export const LEASE_MARGIN_MS = 5_000 + RESERVE_MS + 1_000;

/** The first wait for a held turn; each further wait doubles, up to {@link MAX_STEP_MS}, and is jittered. */
const FIRST_WAIT_MS = 100;
const MAX_STEP_MS = 1_000;

/**
 * The longest a task waits for a held turn, however long its invocation has left: a few seconds, well inside the
 * query route's time, so a caller whose other statement is running is told to retry (429), never timed out (500).
 */
export const MAX_TURN_WAIT_MS = 3_000;

/**
 * How long a task may wait for a held turn: at most {@link MAX_TURN_WAIT_MS}, and only as long as the invocation then
 * still fits the statement and what its turn holds beyond it ({@link LEASE_MARGIN_MS}); zero when it does not.
 */
export function turnWaitMs(remainingMs: number, statementMs: number): number {
  const fits = Number.isFinite(remainingMs) ? remainingMs - statementMs - LEASE_MARGIN_MS : MAX_TURN_WAIT_MS;
  return Math.max(0, Math.min(MAX_TURN_WAIT_MS, fits));
}

/** How long an expired lease item is kept before DynamoDB's TTL may remove it. */
const TTL_GRACE_SECONDS = 3_600;

/** How the turns reach their table, and (for tests) time, randomness and the invocation's deadline. */
export interface DynamoCallerTurnsOptions {
  readonly client: DynamoDBClient;
  /** The sessions table (`pk` string, `sk` number, TTL on `expiresAt`). */
  readonly tableName: string;
  readonly logger: Logger;
  /** Milliseconds the invocation has left (default: the current Lambda invocation's). */
  readonly remainingMs?: () => number;
  /** Epoch milliseconds, the leases' clock. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for the jitter. */
  readonly random?: () => number;
}

function unavailable(error: unknown): UnavailableError {
  return new UnavailableError("store_unavailable", "the callers' turns are unavailable", { cause: error });
}

/**
 * One lease item per caller (`turn#<sha256 of the principal key>`, `sk` 0): `holder` (a random id per task),
 * `until` (epoch ms: now + the statement's budget + {@link LEASE_MARGIN_MS}, never past the holder's own invocation)
 * and `expiresAt` (TTL). A task takes the lease when no item exists or its `until` has passed (a function that died
 * leaves a lease that expires), retries with jittered backoff while the invocation would still fit the statement and
 * its reserve after the wait, then answers 429 with the held lease's remaining seconds. It gives the lease back with a
 * delete conditioned on being its holder; a failed release is logged and left to expire.
 */
export class DynamoCallerTurns implements CallerTurns {
  private readonly remaining: () => number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: DynamoCallerTurnsOptions) {
    this.remaining = options.remainingMs ?? remainingInvocationMs;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  private key(principal: string): Record<string, AttributeValue> {
    return { pk: { S: `${TURN_KEY_PREFIX}${sha256Hex(principal)}` }, sk: { N: "0" } };
  }

  async run<T>(principal: string, budgetMs: number, task: () => Promise<T>): Promise<T> {
    const statementMs = Math.min(budgetMs, DATA_API_CALL_LIMIT_MS);
    const key = this.key(principal);
    const holder = randomUUID();
    const start = this.now();
    const waitMs = turnWaitMs(this.remaining(), statementMs);
    for (let attempt = 0; ; attempt++) {
      const heldUntil = await this.acquire(key, holder, statementMs);
      if (heldUntil === undefined) break;
      const ceiling = Math.min(MAX_STEP_MS, FIRST_WAIT_MS * 2 ** attempt);
      const step = Math.ceil(ceiling / 2 + (this.random() * ceiling) / 2);
      const left = start + waitMs - this.now();
      if (left <= 0) throw new TurnBusyError(Math.max(1, Math.ceil((heldUntil - this.now()) / 1000)));
      await this.sleep(Math.min(step, left));
    }
    try {
      return await task();
    } finally {
      await this.release(key, holder);
    }
  }

  /** Takes the lease; undefined when taken, else the epoch ms until which its holder keeps it. */
  private async acquire(
    key: Record<string, AttributeValue>,
    holder: string,
    statementMs: number,
  ): Promise<number | undefined> {
    const now = this.now();
    // Not clamped to the holder's invocation: its statement may run on in the database after the function is gone.
    const until = now + statementMs + LEASE_MARGIN_MS;
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            ...key,
            holder: { S: holder },
            until: { N: String(until) },
            expiresAt: { N: String(Math.ceil(until / 1000) + TTL_GRACE_SECONDS) },
          },
          ConditionExpression: "attribute_not_exists(pk) OR #until < :now",
          ExpressionAttributeNames: { "#until": "until" },
          ExpressionAttributeValues: { ":now": { N: String(now) } },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw unavailable(error);
      const held = Number(error.Item?.until?.N);
      return Number.isFinite(held) ? held : now + 1_000;
    }
  }

  private async release(key: Record<string, AttributeValue>, holder: string): Promise<void> {
    try {
      await this.options.client.send(
        new DeleteItemCommand({
          TableName: this.options.tableName,
          Key: key,
          ConditionExpression: "#holder = :me",
          ExpressionAttributeNames: { "#holder": "holder" },
          ExpressionAttributeValues: { ":me": { S: holder } },
        }),
      );
    } catch (error) {
      this.options.logger.warn("a caller's turn was not given back; it expires", errorFields(error));
    }
  }
}
