// The S3 object store: conditional put with checksum and SSE-KMS, the multipart path, conflicts, reads and presigned links.

import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type UploadPartCommandInput,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { MIN_PART_BYTES, S3ObjectStore } from "#infra/aws/adapters/s3-object-store.ts";
import { ConflictError, UnavailableError } from "#shared/errors.ts";

const BUCKET = "phigate-results";
const KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/0000";
const s3 = mockClient(S3Client);

function client(): S3Client {
  return new S3Client({
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDTESTTESTTEST", secretAccessKey: "test-secret-not-real" },
  });
}

function objectStore(extra: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}): S3ObjectStore {
  return new S3ObjectStore({
    client: client(),
    bucket: BUCKET,
    kmsKeyArn: KEY_ARN,
    maxUrlTtlSeconds: 900,
    ...extra,
  });
}

async function* chunks(total: number, size: number): AsyncIterable<Uint8Array> {
  for (let sent = 0; sent < total; sent += size)
    yield new Uint8Array(Math.min(size, total - sent)).fill(sent % 251);
}

async function bytesOf(iterable: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of iterable) parts.push(part);
  return Buffer.concat(parts);
}

beforeEach(() => {
  s3.reset();
});

describe("S3ObjectStore.put", () => {
  it("puts once-only (If-None-Match), with its SHA-256 checksum and SSE-KMS under the data key", async () => {
    s3.on(PutObjectCommand).resolves({});
    const body = Buffer.from('{"rows":[]}');
    const stored = await objectStore().put("results/2026-03-01/ses_x.json", body, "application/json");
    const digest = createHash("sha256").update(body);
    expect(stored).toEqual({
      key: "results/2026-03-01/ses_x.json",
      sha256: digest.copy().digest("hex"),
      size: body.length,
      contentType: "application/json",
    });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: "results/2026-03-01/ses_x.json",
      Body: body,
      ContentType: "application/json",
      ServerSideEncryption: "aws:kms",
      SSEKMSKeyId: KEY_ARN,
      BucketKeyEnabled: true,
      ChecksumAlgorithm: "SHA256",
      ChecksumSHA256: digest.digest("base64"),
      IfNoneMatch: "*",
    });
  });

  it("sets explicit Object Lock retention when configured (the bucket default applies otherwise)", async () => {
    s3.on(PutObjectCommand).resolves({});
    const store = objectStore({
      retention: { mode: "COMPLIANCE", days: 30 },
      clock: { now: () => new Date("2026-03-01T00:00:00.000Z") },
    });
    await store.put("results/a.json", new Uint8Array([1]), "application/json");
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      ObjectLockMode: "COMPLIANCE",
      ObjectLockRetainUntilDate: new Date("2026-03-31T00:00:00.000Z"),
    });
  });

  it("reports an existing key as object_exists and other failures as store_unavailable", async () => {
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: "PreconditionFailed",
        $fault: "client",
        $metadata: { httpStatusCode: 412 },
      }),
    );
    await expect(
      objectStore().put("results/a.json", new Uint8Array([1]), "text/plain"),
    ).rejects.toMatchObject({
      code: "object_exists",
      status: 409,
    });
    s3.reset();
    s3.on(PutObjectCommand).rejects(new Error("socket hang up"));
    await expect(
      objectStore().put("results/a.json", new Uint8Array([1]), "text/plain"),
    ).rejects.toBeInstanceOf(UnavailableError);
    await expect(objectStore().put("../escape", new Uint8Array([1]), "text/plain")).rejects.toThrow(
      TypeError,
    );
  });

  it("sends a short stream as one conditional PutObject", async () => {
    s3.on(PutObjectCommand).resolves({});
    const stored = await objectStore().put("results/s.json", chunks(1000, 100), "application/json");
    expect(stored.size).toBe(1000);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it("uploads a long stream in checksummed parts and completes it conditionally, keeping a running SHA-256", async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "up-1" });
    s3.on(UploadPartCommand).callsFake((input: UploadPartCommandInput) => ({
      ETag: `"etag-${input.PartNumber}"`,
    }));
    s3.on(CompleteMultipartUploadCommand).resolves({});
    const total = 2 * MIN_PART_BYTES + 123_456;
    const expected = await bytesOf(chunks(total, 1 << 20));
    const stored = await objectStore({ partBytes: MIN_PART_BYTES }).put(
      "results/big.json",
      chunks(total, 1 << 20),
      "application/json",
    );
    expect(stored).toEqual({
      key: "results/big.json",
      sha256: createHash("sha256").update(expected).digest("hex"),
      size: total,
      contentType: "application/json",
    });
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: "results/big.json",
      ContentType: "application/json",
      ServerSideEncryption: "aws:kms",
      SSEKMSKeyId: KEY_ARN,
      BucketKeyEnabled: true,
      ChecksumAlgorithm: "SHA256",
    });
    const parts = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    expect(parts.map((p) => [p.PartNumber, (p.Body as Uint8Array).length, p.UploadId])).toEqual([
      [1, MIN_PART_BYTES, "up-1"],
      [2, MIN_PART_BYTES, "up-1"],
      [3, 123_456, "up-1"],
    ]);
    const first = expected.subarray(0, MIN_PART_BYTES);
    expect(parts[0]).toMatchObject({
      ChecksumAlgorithm: "SHA256",
      ChecksumSHA256: createHash("sha256").update(first).digest("base64"),
    });
    const complete = s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
    expect(complete).toMatchObject({
      Bucket: BUCKET,
      Key: "results/big.json",
      UploadId: "up-1",
      IfNoneMatch: "*",
    });
    expect(complete?.MultipartUpload?.Parts?.map((p) => [p.PartNumber, p.ETag])).toEqual([
      [1, '"etag-1"'],
      [2, '"etag-2"'],
      [3, '"etag-3"'],
    ]);
  });

  it("aborts the multipart upload when completing it fails (e.g. the key appeared meanwhile)", async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "up-2" });
    s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
    s3.on(CompleteMultipartUploadCommand).rejects(
      new S3ServiceException({
        name: "PreconditionFailed",
        $fault: "client",
        $metadata: { httpStatusCode: 412 },
      }),
    );
    s3.on(AbortMultipartUploadCommand).resolves({});
    await expect(
      objectStore({ partBytes: MIN_PART_BYTES }).put(
        "results/x.json",
        chunks(MIN_PART_BYTES + 1, 1 << 20),
        "x",
      ),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(s3.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: "results/x.json",
      UploadId: "up-2",
    });
  });

  it("aborts the multipart upload when the body fails mid-stream, so no object is ever completed", async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "up-3" });
    s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
    s3.on(AbortMultipartUploadCommand).resolves({});
    async function* breaksAfterOnePart(): AsyncIterable<Uint8Array> {
      yield* chunks(MIN_PART_BYTES + (1 << 20), 1 << 20);
      throw new Error("masking failed upstream");
    }
    await expect(
      objectStore({ partBytes: MIN_PART_BYTES }).put("results/y.ndjson.gz", breaksAfterOnePart(), "x"),
    ).rejects.toBeInstanceOf(UnavailableError);
    expect(s3.commandCalls(UploadPartCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(s3.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: "results/y.ndjson.gz",
      UploadId: "up-3",
    });
  });
});

describe("S3ObjectStore reads", () => {
  it("gets an object's bytes, and undefined when there is no such key", async () => {
    s3.on(GetObjectCommand, { Key: "results/a.json" }).resolves({
      Body: { transformToByteArray: async () => new Uint8Array([7, 8]) } as never,
    });
    s3.on(GetObjectCommand, { Key: "results/missing.json" }).rejects(
      new NoSuchKey({ message: "no", $metadata: {} }),
    );
    expect(await objectStore().get("results/a.json")).toEqual(new Uint8Array([7, 8]));
    expect(await objectStore().get("results/missing.json")).toBeUndefined();
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: "results/a.json",
    });
  });

  it("presigns a GetObject link, never longer-lived than the configured maximum", async () => {
    const url = new URL(await objectStore().readUrl("results/2026-03-01/ses_x.json", 3600));
    expect(url.hostname).toBe(`${BUCKET}.s3.eu-west-1.amazonaws.com`);
    expect(url.pathname).toBe("/results/2026-03-01/ses_x.json");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900");
    expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    const short = new URL(await objectStore().readUrl("results/a.json", 60));
    expect(short.searchParams.get("X-Amz-Expires")).toBe("60");
    expect(s3.calls()).toHaveLength(0);
  });
});
