// KeyProvider on local files: 32-byte keys generated on first use under DATA_DIR/keys, readable by the owner only.

import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { writeFileOnce } from "#infra/local/adapters/atomic-file.ts";
import { ConfigurationError } from "#shared/errors.ts";
import type { KeyProvider } from "#shared/ports.ts";

/** Length of every key this provider hands out, as the port promises. */
const KEY_BYTES = 32;

/** Every purpose a key is asked for (the host loads them all at start, so a damaged key file refuses to start). */
export const KEY_PURPOSES = [
  "tokenization",
  "parameter-digest",
  "result-link",
  "approver-session",
] as const satisfies readonly Parameters<KeyProvider["key"]>[0][];

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
    const key = await loadOrCreateSecret(path, () => randomBytes(KEY_BYTES));
    // A short key (an empty file left by a crash, a truncated copy) would still be accepted by HMAC and HKDF.
    if (key.length !== KEY_BYTES) {
      throw new ConfigurationError(
        `the key file ${path} holds ${key.length} bytes instead of ${KEY_BYTES}; restore it from a backup (or remove it to generate a new key, which invalidates links, tokens and sessions made with the old one)`,
      );
    }
    return key;
  }
}

/**
 * Reads a secret file, or creates it when absent with `generate()`: written to a temporary file (mode 0600),
 * datasync'd and linked into place exclusively, so a crash never leaves a partial secret behind. An empty file
 * is refused (`ConfigurationError` naming the file, never its content).
 */
export async function loadOrCreateSecret(
  path: string,
  generate: () => Uint8Array | Promise<Uint8Array>,
): Promise<Uint8Array> {
  let secret = await readIfPresent(path);
  if (secret === undefined) {
    const generated = await generate();
    secret = (await writeFileOnce(path, generated, 0o600)) ? generated : await readIfPresent(path);
    if (secret === undefined)
      throw new ConfigurationError(`the secret file ${path} vanished while it was created`);
  }
  if (secret.length === 0) throw new ConfigurationError(`the secret file ${path} is empty`);
  return secret;
}

/** A secret file's bytes, never through a symlink and only from a regular file (a FIFO cannot block the open). */
async function readIfPresent(path: string): Promise<Uint8Array | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw new ConfigurationError(`the secret file ${path} is a symbolic link`);
    throw error;
  }
  try {
    if (!(await handle.stat()).isFile())
      throw new ConfigurationError(`the secret file ${path} is not a regular file`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
