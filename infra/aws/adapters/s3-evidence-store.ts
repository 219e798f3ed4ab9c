// EvidenceStore on S3: each bundle's files go under bundles/<id>/ in the Object Lock bucket, manifest and signature last.

import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import { isSafeBundlePath } from "#shared/evidence/bundle-format.ts";
import type { BundleSink, EvidenceStore, WrittenFile } from "#shared/ports.ts";
import { S3ObjectStore } from "./s3-object-store.ts";

/** Where bundles live in the evidence bucket. */
export const BUNDLES_PREFIX = "bundles/";

const BUNDLE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  json: "application/json",
  jsonl: "application/x-ndjson",
  html: "text/html; charset=utf-8",
  pem: "application/x-pem-file",
  yaml: "application/yaml",
  sig: "application/octet-stream",
};

function contentTypeOf(path: string): string {
  return CONTENT_TYPES[path.slice(path.lastIndexOf(".") + 1)] ?? "application/octet-stream";
}

/** Options of the store. */
export interface S3EvidenceStoreOptions {
  readonly client: S3Client;
  /** The evidence bucket (versioned, Object Lock compliance by default retention). */
  readonly bucket: string;
  /** KMS key for SSE-KMS (the stack's data key). */
  readonly kmsKeyArn: string;
}

class S3BundleSink implements BundleSink {
  private readonly written = new Set<string>();
  private done = false;

  constructor(
    private readonly options: S3EvidenceStoreOptions,
    private readonly objects: S3ObjectStore,
    private readonly prefix: string,
  ) {}

  async write(path: string, body: Uint8Array | AsyncIterable<Uint8Array>): Promise<WrittenFile> {
    if (this.done) throw new TypeError("the bundle is already sealed or discarded");
    if (!isSafeBundlePath(path) || this.written.has(path)) throw new TypeError("invalid bundle file path");
    this.written.add(path);
    const stored = await this.objects.put(`${this.prefix}${path}`, body, contentTypeOf(path));
    return { path, sha256: stored.sha256, size: stored.size };
  }

  async seal(): Promise<string> {
    if (this.done) throw new TypeError("the bundle is already sealed or discarded");
    this.done = true;
    return `s3://${this.options.bucket}/${this.prefix}`;
  }

  async discard(): Promise<void> {
    this.done = true;
    for (const path of this.written) {
      await this.options.client
        .send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: `${this.prefix}${path}` }))
        .catch(() => undefined);
    }
  }
}

/**
 * Bundles under `s3://<bucket>/bundles/<bundleId>/`. S3 has no rename, so a bundle is complete when its
 * `manifest.json` and `manifest.sig` exist — the builder writes them after every other file, and `verify-evidence`
 * refuses a bundle without them. Every file is a write-once put (`If-None-Match: *`) with a SHA-256 checksum S3
 * verifies, SSE-KMS, and the bucket's default compliance retention. `discard` hides a half-written bundle with
 * delete markers; the locked versions stay (nothing can remove them before their retention ends).
 */
export class S3EvidenceStore implements EvidenceStore {
  private readonly objects: S3ObjectStore;

  constructor(private readonly options: S3EvidenceStoreOptions) {
    this.objects = new S3ObjectStore({
      client: options.client,
      bucket: options.bucket,
      kmsKeyArn: options.kmsKeyArn,
      maxUrlTtlSeconds: 1,
    });
  }

  async open(bundleId: string): Promise<BundleSink> {
    if (!BUNDLE_ID.test(bundleId)) throw new TypeError("invalid bundle id");
    const prefix = `${BUNDLES_PREFIX}${bundleId}/`;
    let taken: boolean;
    try {
      const listed = await this.options.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, MaxKeys: 1 }),
      );
      taken = (listed.KeyCount ?? 0) > 0;
    } catch (error) {
      throw new UnavailableError("store_unavailable", "the evidence store is unavailable", { cause: error });
    }
    if (taken) throw new ConflictError("bundle_exists", "an evidence bundle with this id already exists");
    return new S3BundleSink(this.options, this.objects, prefix);
  }
}
