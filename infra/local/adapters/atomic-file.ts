// Durable file writes: whole-file replacement, write-once creation, and the directory fsync both need.

import { randomBytes } from "node:crypto";
import { link, mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";

/** Fsyncs a directory, so that entries created, renamed or removed in it survive a crash. */
export async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data` so that a crash leaves either the old or the new content, never a mix. Mode 0600. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const file = await open(temp, "wx", 0o600);
    try {
      await file.writeFile(data);
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncDirectory(directory);
}

/**
 * Creates `path` once with `body`: the bytes go to a temporary file (`mode`), are datasync'd, and are hard-linked
 * into place exclusively before the directory is fsync'd, so `path` never exists with partial content.
 * Returns false, changing nothing, when `path` already exists.
 */
export async function writeFileOnce(
  path: string,
  body: Uint8Array | AsyncIterable<Uint8Array>,
  mode: number,
): Promise<boolean> {
  const directory = dirname(path);
  const temp = `${path}.${randomBytes(6).toString("hex")}.partial`;
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const file = await open(temp, "wx", mode);
    try {
      for await (const chunk of body instanceof Uint8Array ? [body] : body) await file.write(chunk);
      await file.datasync();
    } finally {
      await file.close();
    }
    try {
      await link(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
  } finally {
    await rm(temp, { force: true }).catch(() => undefined);
  }
  await syncDirectory(directory);
  return true;
}

/** Runs tasks one after another per key (a per-key mutex for read-check-write sequences in one process). */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
