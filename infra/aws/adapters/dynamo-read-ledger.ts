// The AWS read ledger: one small item per principal × table × time bucket in the sessions table, counted with ADD.

import { type DynamoDBClient, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { queryItems } from "#infra/aws/adapters/dynamo-query.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { UnavailableError } from "#shared/errors.ts";
import type { LedgerReads, ReadLedger } from "#shared/ports.ts";
import { LEDGER_RETENTION_SECONDS, ledgerRowsOf, readBucket } from "#shared/sessions/read-ledger.ts";

/** Leading key of the ledger's items (`reads#<sha256 of the principal key>#<schema.table>`), for IAM conditions. */
export const READS_KEY_PREFIX = "reads#";

/** How the ledger reaches its table. */
export interface DynamoReadLedgerOptions {
  readonly client: DynamoDBClient;
  /** The sessions table (`pk` string, `sk` number, TTL on `expiresAt`). */
  readonly tableName: string;
}

function unavailable(error: unknown): UnavailableError {
  return new UnavailableError("store_unavailable", "the read ledger is unavailable", { cause: error });
}

/**
 * Rows per principal × table × bucket (`sk`, the bucket's start in epoch seconds), each added with an
 * unconditional `ADD` (no read, no condition: callers never contend, and concurrent adds to one item sum). Items
 * expire (TTL) once no window can reach them; a count reads the window's buckets with one consistent Query.
 */
export class DynamoReadLedger implements ReadLedger {
  constructor(private readonly options: DynamoReadLedgerOptions) {}

  private key(principal: string, table: string): string {
    return `${READS_KEY_PREFIX}${sha256Hex(principal)}#${table}`;
  }

  async add(reads: LedgerReads): Promise<void> {
    const bucket = readBucket(reads.at);
    const expiresAt = String(bucket + LEDGER_RETENTION_SECONDS + 1);
    try {
      await Promise.all(
        reads.tables.map((table) =>
          this.options.client.send(
            new UpdateItemCommand({
              TableName: this.options.tableName,
              Key: { pk: { S: this.key(reads.principal, table) }, sk: { N: String(bucket) } },
              UpdateExpression: "ADD #rows :rows SET #expires = :expires",
              ExpressionAttributeNames: { "#rows": "rows", "#expires": "expiresAt" },
              ExpressionAttributeValues: {
                ":rows": { N: String(ledgerRowsOf(reads, table)) },
                ":expires": { N: expiresAt },
              },
            }),
          ),
        ),
      );
    } catch (error) {
      throw unavailable(error);
    }
  }

  async rowsSince(principal: string, table: string, since: Date): Promise<number> {
    let rows = 0;
    const items = queryItems(
      this.options.client,
      {
        TableName: this.options.tableName,
        KeyConditionExpression: "pk = :pk AND sk >= :from",
        ExpressionAttributeValues: {
          ":pk": { S: this.key(principal, table) },
          ":from": { N: String(readBucket(since)) },
        },
        ProjectionExpression: "#rows",
        ExpressionAttributeNames: { "#rows": "rows" },
        ConsistentRead: true,
      },
      unavailable,
    );
    for await (const item of items) rows += Number(item.rows?.N ?? 0);
    return rows;
  }
}
