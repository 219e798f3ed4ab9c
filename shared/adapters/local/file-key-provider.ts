// KeyProvider on local files: 32-byte keys generated on first use under DATA_DIR/keys, readable by the owner only.

import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KeyProvider } from "#shared/ports.ts";

/** Keys live in `directory/<purpose>.key`, created with mode 0600 (never in the repository). */
export class FileKeyProvider implements KeyProvider {
  private readonly cache = new Map<string, Promise<Uint8Array>>();

  constructor(private readonly directory: string) {}

  key(purpose: Parameters<KeyProvider["key"]>[0]): Promise<Uint8Array> {
    let pending = this.cache.get(purpose);
    if (pending === undefined) {
      pending = this.load(purpose);
      pending.catch(() => this.cache.delete(purpose));
      this.cache.set(purpose, pending);
    }
    return pending;
  }

  private async load(purpose: string): Promise<Uint8Array> {
    const path = join(this.directory, `${purpose}.key`);
    return loadOrCreateSecret(path, () => randomBytes(32));
  }
}

/** Reads a secret file, or creates it exclusively (mode 0600) with `generate()` when absent. */
export async function loadOrCreateSecret(
  path: string,
  generate: () => Uint8Array | Promise<Uint8Array>,
): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(join(path, ".."), { recursive: true, mode: 0o700 });
  const secret = await generate();
  try {
    await writeFile(path, secret, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return readFile(path);
    throw error;
  }
  await chmod(path, 0o600);
  return secret;
}
