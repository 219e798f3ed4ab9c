// CheckpointStore on local files: one write-once, fsync'd note per size under DATA_DIR/log/checkpoints (mode 0600).

import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileOnce } from "#infra/local/adapters/atomic-file.ts";
import type { CheckpointStore } from "#shared/log/log-ports.ts";

const NAME = /^(\d{16})\.note$/;

function fileName(size: number): string {
  return `${String(size).padStart(16, "0")}.note`;
}

/** Checkpoints as `<size, 16 digits>.note` files; a size once written is never rewritten. */
export class FileCheckpointStore implements CheckpointStore {
  constructor(private readonly directory: string) {}

  async put(size: number, note: string): Promise<boolean> {
    return writeFileOnce(join(this.directory, fileName(size)), Buffer.from(note, "utf8"), 0o600);
  }

  async get(size: number): Promise<string | undefined> {
    try {
      return await readFile(join(this.directory, fileName(size)), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async latestSize(): Promise<number | undefined> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    let latest: number | undefined;
    for (const name of await readdir(this.directory)) {
      const match = NAME.exec(name);
      if (match === null) continue;
      const size = Number(match[1]);
      if (latest === undefined || size > latest) latest = size;
    }
    return latest;
  }
}
