// Reading a bundle folder offline: every file under it, and each file's SHA-256 and size.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/** A path found in the bundle folder, and whether it is a regular file. */
export interface FoundPath {
  readonly path: string;
  readonly regular: boolean;
}

/** Every entry under `root` (relative `/`-separated paths); folders are descended, symlinks are not followed. */
export async function listBundle(root: string, prefix = ""): Promise<FoundPath[]> {
  const found: FoundPath[] = [];
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await listBundle(root, path)));
    else found.push({ path, regular: entry.isFile() });
  }
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/** SHA-256 (hex) and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const info = await lstat(path);
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { sha256: hash.digest("hex"), size: info.size };
}
