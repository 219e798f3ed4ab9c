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

/**
 * Group commit for directory fsyncs: every caller gets a sync that started after it called, and callers that
 * arrive while a sync of the same directory is in flight share the one next sync (so N concurrent creations in
 * a folder cost about 2 directory fsyncs, not N).
 */
export class DirectorySyncGroup {
  private readonly states = new Map<string, { running: Promise<void>; next: Promise<void> | undefined }>();

  constructor(private readonly sync: (path: string) => Promise<void> = syncDirectory) {}

  /** Resolves once a fsync of `path` that started after this call has completed. */
  run(path: string): Promise<void> {
    const state = this.states.get(path);
    if (state === undefined) return this.start(path);
    state.next ??= state.running.then(
      () => this.start(path),
      () => this.start(path),
    );
    return state.next;
  }

  private start(path: string): Promise<void> {
    const running = this.sync(path);
    const state = { running, next: undefined };
    this.states.set(path, state);
    const done = (): void => {
      if (this.states.get(path) === state && state.next === undefined) this.states.delete(path);
    };
    running.then(done, done);
    return running;
  }
}

const directorySyncs = new DirectorySyncGroup();

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
 * into place exclusively before the directory is fsync'd, so `path` never exists with partial content. Concurrent
 * creations in one folder share directory fsyncs ({@link DirectorySyncGroup}).
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
  await directorySyncs.run(directory);
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
