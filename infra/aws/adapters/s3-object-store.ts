// ObjectStore on S3: write-once objects (If-None-Match), SHA-256 checksums, SSE-KMS, Object Lock, presigned reads.

import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import type { Clock, ObjectStore, StoredObject } from "#shared/ports.ts";
import { systemClock } from "#shared/ports.ts";

const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,511}$/;

/** Smallest part S3 accepts (except the last); bodies below it are sent in one PutObject. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

/** Options of the S3 store. */
export interface S3ObjectStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** KMS key for SSE-KMS (the stack's data key). */
  readonly kmsKeyArn: string;
  /** Longest presigned-link lifetime, seconds (longer requests are shortened). */
  readonly maxUrlTtlSeconds: number;
  /** Part size for streamed bodies (≥ 5 MiB; default 8 MiB). */
  readonly partBytes?: number;
  /**
   * Explicit per-object retention. Without it the bucket's default retention (compliance mode, set by the
   * stack) applies to every new object version.
   */
  readonly retention?: { readonly mode: "COMPLIANCE" | "GOVERNANCE"; readonly days: number };
  readonly clock?: Clock;
}

function checkKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.split("/").some((part) => part === ".." || part === ".")) {
    throw new TypeError("invalid object key");
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isConflict(error: unknown): boolean {
  const name = error instanceof Error ? error.name : "";
  return name === "PreconditionFailed" || name === "ConditionalRequestConflict" || statusOf(error) === 412;
}

function failure(error: unknown): Error {
  if (isConflict(error)) return new ConflictError("object_exists", "an object with this key already exists");
  return new UnavailableError("store_unavailable", "the object store is unavailable", { cause: error });
}

const base64Sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("base64");

/**
 * The `ObjectStore` of the AWS host. Every put is conditional on the key not existing (`If-None-Match: *`),
 * carries a SHA-256 checksum S3 verifies, and is encrypted with the data key; a second put of a key is a
 * `ConflictError("object_exists")`, as on the local host. Streamed bodies go up as a multipart upload whose
 * parts each carry their checksum while a running SHA-256 of the whole body is kept for the record.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly clock: Clock;
  private readonly partBytes: number;

  constructor(private readonly options: S3ObjectStoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.partBytes = Math.max(MIN_PART_BYTES, options.partBytes ?? 8 * 1024 * 1024);
  }

  async put(
    key: string,
    body: Uint8Array | AsyncIterable<Uint8Array>,
    contentType: string,
  ): Promise<StoredObject> {
    checkKey(key);
    if (body instanceof Uint8Array) return this.putWhole(key, body, contentType);
    const iterator = body[Symbol.asyncIterator]();
    const buffered: Uint8Array[] = [];
    let bufferedBytes = 0;
    let done = false;
    while (!done && bufferedBytes < this.partBytes) {
      const next = await iterator.next();
      if (next.done === true) done = true;
      else {
        buffered.push(next.value);
        bufferedBytes += next.value.length;
      }
    }
    if (done) return this.putWhole(key, Buffer.concat(buffered), contentType);
    return this.putMultipart(key, contentType, buffered, iterator);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkKey(key);
    try {
      const result = await this.options.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: key }),
      );
      return result.Body === undefined ? new Uint8Array() : await result.Body.transformToByteArray();
    } catch (error) {
      if ((error instanceof Error && error.name === "NoSuchKey") || statusOf(error) === 404) return undefined;
      throw failure(error);
    }
  }

  async readUrl(key: string, ttlSeconds: number): Promise<string> {
    checkKey(key);
    const expiresIn = Math.max(1, Math.min(Math.floor(ttlSeconds), this.options.maxUrlTtlSeconds));
    try {
      return await getSignedUrl(
        this.options.client,
        new GetObjectCommand({ Bucket: this.options.bucket, Key: key }),
        {
          expiresIn,
        },
      );
    } catch (error) {
      throw failure(error);
    }
  }

  private common(contentType: string) {
    const retention = this.options.retention;
    return {
      Bucket: this.options.bucket,
      ContentType: contentType,
      ServerSideEncryption: "aws:kms" as const,
      SSEKMSKeyId: this.options.kmsKeyArn,
      BucketKeyEnabled: true,
      ChecksumAlgorithm: "SHA256" as const,
      ...(retention === undefined
        ? {}
        : {
            ObjectLockMode: retention.mode,
            ObjectLockRetainUntilDate: new Date(this.clock.now().getTime() + retention.days * 86_400_000),
          }),
    };
  }

  private async putWhole(key: string, body: Uint8Array, contentType: string): Promise<StoredObject> {
    const sha256 = createHash("sha256").update(body).digest();
    try {
      await this.options.client.send(
        new PutObjectCommand({
          ...this.common(contentType),
          Key: key,
          Body: body,
          ChecksumSHA256: sha256.toString("base64"),
          IfNoneMatch: "*",
        }),
      );
    } catch (error) {
      throw failure(error);
    }
    return { key, sha256: sha256.toString("hex"), size: body.length, contentType };
  }

  private async putMultipart(
    key: string,
    contentType: string,
    first: Uint8Array[],
    rest: AsyncIterator<Uint8Array>,
  ): Promise<StoredObject> {
    const { client, bucket } = this.options;
    const hash = createHash("sha256");
    let uploadId: string | undefined;
    const parts: { PartNumber: number; ETag: string | undefined; ChecksumSHA256: string }[] = [];
    let size = 0;
    const upload = async (chunk: Uint8Array): Promise<void> => {
      hash.update(chunk);
      size += chunk.length;
      const checksum = base64Sha256(chunk);
      const partNumber = parts.length + 1;
      const result = await client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: chunk,
          ChecksumAlgorithm: "SHA256",
          ChecksumSHA256: checksum,
        }),
      );
      parts.push({
        PartNumber: partNumber,
        ETag: result.ETag,
        ChecksumSHA256: result.ChecksumSHA256 ?? checksum,
      });
    };
    try {
      const created = await client.send(
        new CreateMultipartUploadCommand({ ...this.common(contentType), Key: key }),
      );
      uploadId = created.UploadId;
      if (uploadId === undefined) throw new TypeError("S3 returned no upload id");
      // Chunks are joined once per part (not once per chunk), so a streamed body costs linear copying.
      let pending: Uint8Array[] = [...first];
      let pendingBytes = pending.reduce((sum, chunk) => sum + chunk.length, 0);
      for (;;) {
        while (pendingBytes >= this.partBytes) {
          const joined = Buffer.concat(pending, pendingBytes);
          await upload(joined.subarray(0, this.partBytes));
          const left = joined.subarray(this.partBytes);
          pending = left.length > 0 ? [left] : [];
          pendingBytes = left.length;
        }
        const next = await rest.next();
        if (next.done === true) break;
        pending.push(next.value);
        pendingBytes += next.value.length;
      }
      if (pendingBytes > 0) await upload(Buffer.concat(pending, pendingBytes));
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          IfNoneMatch: "*",
        }),
      );
    } catch (error) {
      if (uploadId !== undefined) {
        await client
          .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
          .catch(() => undefined);
      }
      throw failure(error);
    }
    return { key, sha256: hash.digest("hex"), size, contentType };
  }
}
