// CatalogArchive on local files: DATA_DIR/catalogs/<version>.json, written once, exact bytes.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileOnce } from "#infra/local/adapters/atomic-file.ts";
import { IntegrityError, UnavailableError } from "#shared/errors.ts";
import type { CatalogArchive } from "#shared/ports.ts";
import { CATALOG_VERSION_PATTERN } from "#shared/sql/catalog-snapshot.ts";

/** Every catalog snapshot the host analyzed statements against, by catalog version. */
export class FileCatalogArchive implements CatalogArchive {
  constructor(private readonly directory: string) {}

  async put(version: string, bytes: Uint8Array): Promise<void> {
    if (!CATALOG_VERSION_PATTERN.test(version)) {
      throw new TypeError("a catalog version to archive must be a SHA-256 hex digest");
    }
    let written: boolean;
    try {
      written = await writeFileOnce(join(this.directory, `${version}.json`), bytes, 0o400);
    } catch (error) {
      throw new UnavailableError("store_unavailable", "the catalog archive is unavailable", { cause: error });
    }
    if (written) return;
    const existing = await this.get(version);
    if (existing === undefined || !Buffer.from(existing).equals(Buffer.from(bytes))) {
      throw new IntegrityError(
        `the archived catalog ${version} differs from the catalog loaded as that version`,
      );
    }
  }

  async get(version: string): Promise<Uint8Array | undefined> {
    if (!CATALOG_VERSION_PATTERN.test(version)) return undefined;
    try {
      return await readFile(join(this.directory, `${version}.json`));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new UnavailableError("store_unavailable", "the catalog archive is unavailable", { cause: error });
    }
  }
}
