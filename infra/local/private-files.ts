// Files under DATA_DIR that must be the gateway's own: key files checked at start, database files closed to the owner.

import { chmod, lstat, opendir } from "node:fs/promises";
import { join } from "node:path";
import { ConfigurationError } from "#shared/errors.ts";
import type { Logger } from "#shared/log.ts";

/** A mode that was tightened. */
export interface ModeFix {
  readonly path: string;
  readonly from: number;
  readonly to: number;
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

function kindOf(info: { isSymbolicLink(): boolean; isDirectory(): boolean }): string {
  return info.isSymbolicLink() ? "a symbolic link" : info.isDirectory() ? "a folder" : "not a regular file";
}

/** The uid the gateway runs as (undefined where the platform has none). */
const ownUid = (): number | undefined => process.getuid?.();

function refuse(path: string, why: string): never {
  throw new ConfigurationError(
    `${path} ${why}; the gateway refuses to start on it (a key file must be a regular file of the gateway's own user, mode 0600)`,
  );
}

async function fixMode(path: string, mode: number, wanted: number, fixes: ModeFix[]): Promise<void> {
  if ((mode & 0o7777) === wanted) return;
  await chmod(path, wanted);
  fixes.push({ path, from: mode & 0o7777, to: wanted });
}

/**
 * Checks the key folder before any key is read: the folder itself a real folder (not a symlink) of the gateway's
 * user, mode 0700; every entry a regular file (not a symlink, not a folder or device) owned by that user with a
 * single link, mode 0600. A looser mode is tightened (and returned); anything else refuses with the path. A missing
 * folder is fine (keys are generated on first start, 0600).
 */
export async function checkKeyFolder(folder: string): Promise<ModeFix[]> {
  const fixes: ModeFix[] = [];
  const uid = ownUid();
  const info = await lstat(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (info === undefined) return fixes;
  if (!info.isDirectory()) refuse(folder, `is ${kindOf(info)}, not a folder`);
  if (uid !== undefined && info.uid !== uid)
    refuse(folder, `is owned by uid ${info.uid}, not the gateway's uid ${uid}`);
  await fixMode(folder, info.mode, 0o700, fixes);
  for await (const entry of await opendir(folder)) {
    const path = join(folder, entry.name);
    const file = await lstat(path);
    if (!file.isFile()) refuse(path, `is ${kindOf(file)}`);
    if (uid !== undefined && file.uid !== uid)
      refuse(path, `is owned by uid ${file.uid}, not the gateway's uid ${uid}`);
    if (file.nlink !== 1) refuse(path, `has ${file.nlink} hard links (another name can read or replace it)`);
    await fixMode(path, file.mode, 0o600, fixes);
  }
  return fixes;
}

/**
 * Closes a database folder to the owner: every folder 0700, every file 0600 (PGlite creates its files 0666).
 * Symlinks and files of another user refuse with the path. A missing folder is fine.
 */
export async function privatizeTree(root: string): Promise<ModeFix[]> {
  const fixes: ModeFix[] = [];
  const uid = ownUid();
  const walk = async (path: string): Promise<void> => {
    // A file the running database removed meanwhile is no longer there to close.
    const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (info === undefined) return;
    if (info.isSymbolicLink()) refuse(path, "is a symbolic link");
    if (uid !== undefined && info.uid !== uid)
      refuse(path, `is owned by uid ${info.uid}, not the gateway's uid ${uid}`);
    if (info.isDirectory()) {
      await fixMode(path, info.mode, 0o700, fixes);
      for await (const entry of await opendir(path)) await walk(join(path, entry.name));
    } else if (info.isFile()) {
      await fixMode(path, info.mode, 0o600, fixes);
    } else {
      refuse(path, `is ${kindOf(info)}`);
    }
  };
  const exists = await lstat(root).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return false;
      throw error;
    },
  );
  if (exists) await walk(root);
  return fixes;
}

/** Logs tightened modes: one line per key file, one summary line for a database folder. */
export function logFixes(logger: Logger, what: "key" | "database", fixes: readonly ModeFix[]): void {
  if (fixes.length === 0) return;
  if (what === "key") {
    for (const fix of fixes) {
      logger.warn("tightened the mode of a key file", {
        path: fix.path,
        from: octal(fix.from),
        to: octal(fix.to),
      });
    }
    return;
  }
  logger.info("closed the database files to the owner", { files: fixes.length });
}
