// PolicyArchive on local files: DATA_DIR/policies/<sha256>.yaml, written once, exact bytes.

import { randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
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
    const path = join(this.directory, `${digest}.yaml`);
    const temp = `${path}.${randomBytes(6).toString("hex")}.partial`;
    try {
      await mkdir(this.directory, { recursive: true, mode: 0o700 });
      const file = await open(temp, "wx", 0o400);
      try {
        await file.write(Buffer.from(text, "utf8"));
        await file.datasync();
      } finally {
        await file.close();
      }
      await link(temp, path).catch((error: NodeJS.ErrnoException) =>
        error.code === "EEXIST" ? undefined : Promise.reject(error),
      );
    } catch (error) {
      throw new UnavailableError("store_unavailable", "the policy archive is unavailable", { cause: error });
    } finally {
      await rm(temp, { force: true }).catch(() => undefined);
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
