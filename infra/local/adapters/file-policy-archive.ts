// PolicyArchive on local files: DATA_DIR/policies/<sha256>.yaml, written once, exact bytes.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileOnce } from "#infra/local/adapters/atomic-file.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { IntegrityError, UnavailableError } from "#shared/errors.ts";
import type { PolicyArchive } from "#shared/ports.ts";

const DIGEST = /^[0-9a-f]{64}$/;

/** Every policy text the host has enforced, by the SHA-256 of its bytes. */
export class FilePolicyArchive implements PolicyArchive {
  constructor(private readonly directory: string) {}

  async put(text: string): Promise<string> {
    const digest = sha256Hex(text);
    const existing = await this.get(digest);
    if (existing !== undefined) {
      if (sha256Hex(existing) !== digest) {
        throw new IntegrityError(`the archived policy ${digest} was altered`);
      }
      return digest;
    }
    try {
      await writeFileOnce(join(this.directory, `${digest}.yaml`), Buffer.from(text, "utf8"), 0o400);
    } catch (error) {
      throw new UnavailableError("store_unavailable", "the policy archive is unavailable", { cause: error });
    }
    return digest;
  }

  async get(digest: string): Promise<string | undefined> {
    if (!DIGEST.test(digest)) return undefined;
    try {
      return await readFile(join(this.directory, `${digest}.yaml`), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new UnavailableError("store_unavailable", "the policy archive is unavailable", { cause: error });
    }
  }
}
