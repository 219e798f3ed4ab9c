// CatalogArchive on S3: catalogs/<version>.json in the evidence bucket, write-once and under its Object Lock retention.

import type { S3Client } from "@aws-sdk/client-s3";
import { ConflictError } from "#shared/errors.ts";
import type { CatalogArchive } from "#shared/ports.ts";
import { CATALOG_VERSION_PATTERN } from "#shared/sql/catalog-snapshot.ts";
import { S3ObjectStore } from "./s3-object-store.ts";

/** Where catalog snapshots live in the evidence bucket. */
export const CATALOGS_PREFIX = "catalogs/";

/** Options of the archive. */
export interface S3CatalogArchiveOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly kmsKeyArn: string;
}

/**
 * Every catalog snapshot a function analyzed statements against, by catalog version. `put` is a write-once put
 * (`If-None-Match: *`, SHA-256 checksum): the version is a digest of the catalog's content, so an existing object
 * under it holds the same snapshot and a second put is a no-op. The evidence bucket's compliance retention keeps
 * each snapshot for as long as the bundles that need it; the sessions that cite it record its SHA-256.
 */
export class S3CatalogArchive implements CatalogArchive {
  private readonly objects: S3ObjectStore;

  constructor(options: S3CatalogArchiveOptions) {
    this.objects = new S3ObjectStore({
      client: options.client,
      bucket: options.bucket,
      kmsKeyArn: options.kmsKeyArn,
      maxUrlTtlSeconds: 1,
    });
  }

  async put(version: string, bytes: Uint8Array): Promise<void> {
    if (!CATALOG_VERSION_PATTERN.test(version)) {
      throw new TypeError("a catalog version to archive must be a SHA-256 hex digest");
    }
    try {
      await this.objects.put(`${CATALOGS_PREFIX}${version}.json`, bytes, "application/json");
    } catch (error) {
      if (!(error instanceof ConflictError && error.code === "object_exists")) throw error;
    }
  }

  async get(version: string): Promise<Uint8Array | undefined> {
    if (!CATALOG_VERSION_PATTERN.test(version)) return undefined;
    return this.objects.get(`${CATALOGS_PREFIX}${version}.json`);
  }
}
