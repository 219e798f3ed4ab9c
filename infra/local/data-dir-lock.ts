// One gateway per DATA_DIR: a pid lock file, taken over only when its owner is gone.

import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { writeFileOnce } from "#infra/local/adapters/atomic-file.ts";
import { ConfigurationError } from "#shared/errors.ts";

/** How often a start waits for another start's takeover of a stale lock to finish (20 ms apart). */
const ATTEMPTS = 50;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Creates `path` holding `content`, or answers false if it exists. `writeFileOnce` links a fully written file into
 * place, so nobody reads the lock half written: with `writeFile`'s "wx" the file exists empty for a moment, and a
 * racing start that read it empty judged it stale and removed the winner's lock.
 */
function createExclusive(path: string, content: string): Promise<boolean> {
  return writeFileOnce(path, Buffer.from(content), 0o600);
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Takes the lock on `dataDir`; the returned function releases it. The lock file holds our pid and a nonce. A lock
 * whose owner is gone is removed only by the start holding `phigate.pid.takeover`, and only if the lock still
 * holds exactly what that start judged stale: two starts over one stale lock cannot both remove a lock and win
 * (the second would otherwise delete the first's fresh lock).
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, "phigate.pid");
  const guard = `${path}.takeover`;
  const mine = `${process.pid} ${randomBytes(8).toString("hex")}\n`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await createExclusive(path, mine)) {
      return async () => {
        if ((await readIfPresent(path)) === mine) await rm(path, { force: true });
      };
    }
    const seen = await readIfPresent(path);
    if (seen === undefined) continue;
    const owner = Number.parseInt(seen, 10);
    if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
      throw new ConfigurationError(`another phigate (pid ${owner}) is using ${dataDir}`);
    }
    if (await createExclusive(guard, mine)) {
      try {
        if ((await readIfPresent(path)) === seen) await rm(path, { force: true });
      } finally {
        await rm(guard, { force: true });
      }
    } else {
      await sleep(20);
    }
  }
  throw new ConfigurationError(
    `could not lock ${dataDir}: if no phigate is starting or running, remove ${guard} (left by an interrupted start)`,
  );
}
