// PolicyArchive on S3: policies/<sha256>.yaml in the evidence bucket, write-once and under its Object Lock retention.

import type { S3Client } from "@aws-sdk/client-s3";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { ConflictError, IntegrityError } from "#shared/errors.ts";
import type { PolicyArchive } from "#shared/ports.ts";
import { S3ObjectStore } from "./s3-object-store.ts";

/** Where policy texts live in the evidence bucket. */
export const POLICIES_PREFIX = "policies/";

const DIGEST = /^[0-9a-f]{64}$/;

/** Options of the archive. */
export interface S3PolicyArchiveOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly kmsKeyArn: string;
}

/**
 * Every policy text a function enforced, by the SHA-256 of its bytes. `put` is a write-once put
 * (`If-None-Match: *`, SHA-256 checksum): an existing object under the digest is the same text, so a second put is a
 * no-op. `get` re-hashes what it reads and raises `IntegrityError` when the bytes do not match their key. The evidence
 * bucket's compliance retention keeps each text for as long as the bundles that cite it.
 */
export class S3PolicyArchive implements PolicyArchive {
  private readonly objects: S3ObjectStore;

  constructor(options: S3PolicyArchiveOptions) {
    this.objects = new S3ObjectStore({
      client: options.client,
      bucket: options.bucket,
      kmsKeyArn: options.kmsKeyArn,
      maxUrlTtlSeconds: 1,
    });
  }

  async put(text: string): Promise<string> {
    const digest = sha256Hex(text);
    try {
      await this.objects.put(
        `${POLICIES_PREFIX}${digest}.yaml`,
        Buffer.from(text, "utf8"),
        "application/yaml",
      );
    } catch (error) {
      if (!(error instanceof ConflictError && error.code === "object_exists")) throw error;
    }
    return digest;
  }

  async get(digest: string): Promise<string | undefined> {
    if (!DIGEST.test(digest)) return undefined;
    const bytes = await this.objects.get(`${POLICIES_PREFIX}${digest}.yaml`);
    if (bytes === undefined) return undefined;
    const text = Buffer.from(bytes).toString("utf8");
    if (sha256Hex(text) !== digest) throw new IntegrityError(`the archived policy ${digest} was altered`);
    return text;
  }
}
