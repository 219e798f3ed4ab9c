// EvidenceJobStore on DynamoDB: one item per requested bundle in the sessions table, every transition conditional.

import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import * as z from "zod";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import type { EvidenceJob, EvidenceJobOutcome, EvidenceJobStore } from "#shared/evidence/evidence-jobs.ts";

/** Partition-key prefix of job items (IAM's leading-key condition names it). */
export const EVIDENCE_JOB_PREFIX = "evidence-job#";

/** How long a finished job's record is kept (DynamoDB TTL on `expiresAt`); the bundle itself is kept by Object Lock. */
export const EVIDENCE_JOB_TTL_SECONDS = 90 * 86_400;

const recordSchema = z.object({
  bundleId: z.string(),
  status: z.enum(["building", "ready", "failed"]),
  location: z.string(),
  from: z.string(),
  to: z.string(),
  previousSize: z.number().int().nonnegative().optional(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  reason: z.enum(["build_failed", "timed_out"]).optional(),
  result: z
    .object({
      keyFingerprint: z.string(),
      entries: z.number(),
      sessions: z.number(),
      log: z.object({ start: z.number(), end: z.number() }).optional(),
    })
    .optional(),
});

/** Options of the store. */
export interface DynamoEvidenceJobStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

const keyOf = (bundleId: string) => ({ pk: { S: `${EVIDENCE_JOB_PREFIX}${bundleId}` }, sk: { N: "0" } });

function unavailable(cause: unknown): UnavailableError {
  return new UnavailableError("store_unavailable", "the evidence job store is unavailable", { cause });
}

/**
 * A job is one item (`pk = evidence-job#<bundleId>`, `sk = 0`) holding its record as JSON text beside `status` and
 * `startedAt`, the attributes its conditions read: create only if absent, begin only while `building` and not begun,
 * finish only while `building`.
 */
export class DynamoEvidenceJobStore implements EvidenceJobStore {
  constructor(private readonly options: DynamoEvidenceJobStoreOptions) {}

  async create(job: EvidenceJob): Promise<void> {
    try {
      await this.options.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            ...keyOf(job.bundleId),
            status: { S: job.status },
            record: { S: JSON.stringify(job) },
            expiresAt: {
              N: String(Math.floor(Date.parse(job.requestedAt) / 1000) + EVIDENCE_JOB_TTL_SECONDS),
            },
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new ConflictError("bundle_exists", "an evidence bundle with this id already exists");
      throw unavailable(error);
    }
  }

  async get(bundleId: string): Promise<EvidenceJob | undefined> {
    let item: Record<string, { S?: string }> | undefined;
    try {
      const out = await this.options.client.send(
        new GetItemCommand({ TableName: this.options.tableName, Key: keyOf(bundleId), ConsistentRead: true }),
      );
      item = out.Item as Record<string, { S?: string }> | undefined;
    } catch (error) {
      throw unavailable(error);
    }
    if (item?.record?.S === undefined) return undefined;
    return recordSchema.parse(JSON.parse(item.record.S));
  }

  async begin(bundleId: string, at: Date): Promise<boolean> {
    const job = await this.get(bundleId);
    if (job === undefined || job.status !== "building" || job.startedAt !== undefined) return false;
    return this.replace({ ...job, startedAt: at.toISOString() }, "attribute_not_exists(startedAt)");
  }

  async finish(bundleId: string, outcome: EvidenceJobOutcome): Promise<boolean> {
    const job = await this.get(bundleId);
    if (job === undefined || job.status !== "building") return false;
    const finished: EvidenceJob =
      outcome.status === "ready"
        ? { ...job, status: "ready", result: outcome.result, finishedAt: outcome.at.toISOString() }
        : { ...job, status: "failed", reason: outcome.reason, finishedAt: outcome.at.toISOString() };
    return this.replace(finished, undefined);
  }

  /** Writes the record if the item is still `building` (and meets `extra`); false when another write came first. */
  private async replace(job: EvidenceJob, extra: string | undefined): Promise<boolean> {
    try {
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.tableName,
          Key: keyOf(job.bundleId),
          UpdateExpression: `SET #status = :status, #record = :record${job.startedAt === undefined ? "" : ", startedAt = :startedAt"}`,
          ConditionExpression: `#status = :building${extra === undefined ? "" : ` AND ${extra}`}`,
          ExpressionAttributeNames: { "#status": "status", "#record": "record" },
          ExpressionAttributeValues: {
            ":status": { S: job.status },
            ":record": { S: JSON.stringify(job) },
            ":building": { S: "building" },
            ...(job.startedAt === undefined ? {} : { ":startedAt": { S: job.startedAt } }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw unavailable(error);
    }
  }
}
