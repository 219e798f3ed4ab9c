// The log's signed checkpoints on S3: log/checkpoints/<size, 16 digits>.note in the evidence bucket, write-once.

import type { S3Client } from "@aws-sdk/client-s3";
import { ConflictError } from "#shared/errors.ts";
import type { CheckpointStore } from "#shared/log/log-ports.ts";
import { S3ObjectStore } from "./s3-object-store.ts";

/** Where checkpoint notes live in the evidence bucket. */
export const CHECKPOINTS_PREFIX = "log/checkpoints/";

/** The object key of the checkpoint of `size` (zero-padded, so keys list in size order). */
export function checkpointKey(size: number): string {
  return `${CHECKPOINTS_PREFIX}${String(size).padStart(16, "0")}.note`;
}

/** Options of the store. */
export interface S3CheckpointStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly kmsKeyArn: string;
}

/**
 * Checkpoint notes, one object per size, put with `If-None-Match: *` under the evidence bucket's Object Lock
 * retention: a size once published keeps its note (a second put finds it and changes nothing). The latest size is
 * the head item's (the sequencer records it there), so this store never lists.
 */
export class S3CheckpointStore implements Pick<CheckpointStore, "put" | "get"> {
  private readonly objects: S3ObjectStore;

  constructor(options: S3CheckpointStoreOptions) {
    this.objects = new S3ObjectStore({
      client: options.client,
      bucket: options.bucket,
      kmsKeyArn: options.kmsKeyArn,
      maxUrlTtlSeconds: 1,
    });
  }

  async put(size: number, note: string): Promise<boolean> {
    try {
      await this.objects.put(checkpointKey(size), Buffer.from(note, "utf8"), "text/plain; charset=utf-8");
      return true;
    } catch (error) {
      if (error instanceof ConflictError && error.code === "object_exists") return false;
      throw error;
    }
  }

  async get(size: number): Promise<string | undefined> {
    const bytes = await this.objects.get(checkpointKey(size));
    return bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8");
  }
}
