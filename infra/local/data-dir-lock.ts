// One gateway per DATA_DIR: a pid lock file, taken over only when its owner is gone.

import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigurationError } from "#shared/errors.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock on `dataDir`; the returned function releases it. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, "phigate.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return async () => {
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
        throw new ConfigurationError(`another phigate (pid ${owner}) is using ${dataDir}`);
      }
      await rm(path, { force: true });
    }
  }
  throw new ConfigurationError(`could not lock ${dataDir}`);
}
