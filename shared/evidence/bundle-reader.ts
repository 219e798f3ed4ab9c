// Reads a bundle folder as hostile input: no symlink followed, regular files only, sizes capped before reading.

import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, lstat, open, opendir } from "node:fs/promises";
import { join } from "node:path";

/** The largest `manifest.json` this verifier reads. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/** The largest `manifest.sig` (a DER ECDSA P-256 signature is at most 72 bytes). */
export const MAX_SIGNATURE_BYTES = 1024;
/** The largest `public-key.pem`. */
export const MAX_PUBLIC_KEY_BYTES = 16 * 1024;
/** The largest policy text. */
export const MAX_POLICY_BYTES = 4 * 1024 * 1024;
/** The largest catalog snapshot. */
export const MAX_CATALOG_BYTES = 64 * 1024 * 1024;
/** The most policy text, and catalog snapshot bytes, one verification holds in memory. */
export const MAX_POLICIES_TOTAL_BYTES = 64 * 1024 * 1024;
export const MAX_CATALOGS_TOTAL_BYTES = 256 * 1024 * 1024;
/**
 * The most bytes read (hashed, or scanned as lines) from a bundle whose key was not matched with `--trusted-key`:
 * anyone can sign a manifest that lists a sparse terabyte file, and only a trusted signer's sizes are worth reading.
 */
export const MAX_UNTRUSTED_READ_BYTES = 16 * 1024 * 1024 * 1024;

/** What is left of a verification's read allowance. */
export interface ReadBudget {
  left: number;
  /** Why the allowance exists (for the problem naming a file it leaves unread). */
  readonly reason: string;
}
/** The longest line of a `.jsonl` file (a chain entry). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
/** Most entries listed in a bundle folder (a bundle has a handful of files plus its policies and catalogs). */
export const MAX_LISTED_ENTRIES = 100_000;
/** Deepest folder nesting a bundle path can have (`isSafeBundlePath`). */
const MAX_DEPTH = 4;

const READ_CHUNK = 1024 * 1024;
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A bundle file that could not be read as a regular file; `message` starts with the path. */
export class BundleReadError extends Error {
  override readonly name = "BundleReadError";
  constructor(
    readonly path: string,
    readonly reason: "missing" | "not_regular" | "too_large" | "unreadable",
    detail: string,
  ) {
    super(`${path} ${detail}`);
  }
}

function kindOf(info: {
  isSymbolicLink(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (info.isSymbolicLink()) return "a symbolic link";
  if (info.isDirectory()) return "a folder";
  if (info.isFIFO()) return "a FIFO";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  return "something else";
}

/** A regular file opened without following a symlink, and its size when opened. */
interface OpenedFile {
  readonly handle: FileHandle;
  readonly size: number;
}

/**
 * Opens `rel` under `root`: every folder on the way must be a real folder (not a symlink), and the file itself is
 * opened with `O_NOFOLLOW | O_NONBLOCK` (a FIFO cannot block the open) and must be a regular file.
 */
async function openRegular(root: string, rel: string): Promise<OpenedFile> {
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) {
    const folder = parts.slice(0, i).join("/");
    const info = await lstat(join(root, folder)).catch(() => undefined);
    if (info === undefined) throw new BundleReadError(rel, "missing", "is missing");
    if (!info.isDirectory())
      throw new BundleReadError(rel, "not_regular", `is inside ${folder}, which is ${kindOf(info)}`);
  }
  // Nothing but a regular file is opened at all (opening a device can act on it); the open then refuses a symlink
  // and the handle must be the very file looked at.
  const seen = await lstat(join(root, rel)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") throw new BundleReadError(rel, "missing", "is missing");
    throw new BundleReadError(rel, "unreadable", `cannot be read (${error.code ?? "error"})`);
  });
  if (!seen.isFile()) {
    const what = seen.isSymbolicLink() ? "is a symbolic link" : `is ${kindOf(seen)}, not a regular file`;
    throw new BundleReadError(rel, "not_regular", what);
  }
  let handle: FileHandle;
  try {
    handle = await open(join(root, rel), OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new BundleReadError(rel, "missing", "is missing");
    if (code === "ELOOP" || code === "EMLINK")
      throw new BundleReadError(rel, "not_regular", "is a symbolic link");
    if (code === "ENXIO" || code === "EISDIR")
      throw new BundleReadError(rel, "not_regular", "is not a regular file");
    throw new BundleReadError(rel, "unreadable", `cannot be read (${code ?? "error"})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile())
      throw new BundleReadError(rel, "not_regular", `is ${kindOf(info)}, not a regular file`);
    if (info.ino !== seen.ino || info.dev !== seen.dev)
      throw new BundleReadError(rel, "unreadable", "was replaced while it was read");
    return { handle, size: info.size };
  } catch (error) {
    await handle.close().catch(() => undefined);
    if (error instanceof BundleReadError) throw error;
    throw new BundleReadError(rel, "unreadable", "cannot be read");
  }
}

/**
 * Reads at most `limit` bytes from an open file whose size was `size` when opened (it may have shrunk or grown
 * since): buffers are sized by what is left, never by the cap.
 */
async function readUpTo(handle: FileHandle, size: number, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < limit) {
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(READ_CHUNK, limit - total, size + 1 - total)));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
    if (bytesRead === 0) break;
    chunks.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    total += bytesRead;
  }
  return Buffer.concat(chunks, total);
}

/** The bytes of a regular file of at most `cap` bytes; a larger file is refused before anything is read. */
export async function readCapped(root: string, rel: string, cap: number): Promise<Buffer> {
  const { handle, size } = await openRegular(root, rel);
  try {
    if (size > cap)
      throw new BundleReadError(
        rel,
        "too_large",
        `is ${size} bytes, more than the ${cap} this verifier reads`,
      );
    const bytes = await readUpTo(handle, size, cap + 1);
    if (bytes.length > cap)
      throw new BundleReadError(rel, "too_large", `grew beyond ${cap} bytes while it was read`);
    return bytes;
  } catch (error) {
    if (error instanceof BundleReadError) throw error;
    throw new BundleReadError(rel, "unreadable", "cannot be read");
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Like `readCapped`, but a missing file is undefined (other failures still throw). */
export async function readCappedOptional(
  root: string,
  rel: string,
  cap: number,
): Promise<Buffer | undefined> {
  try {
    return await readCapped(root, rel, cap);
  } catch (error) {
    if (error instanceof BundleReadError && error.reason === "missing") return undefined;
    throw error;
  }
}

/**
 * SHA-256 and size of a regular file, read only when its size is `expectedSize` (a file of another size does not
 * match the manifest whatever its bytes): `sha256` is undefined then.
 */
export async function hashListed(
  root: string,
  rel: string,
  expectedSize: number,
): Promise<{ sha256: string | undefined; size: number }> {
  const { handle, size } = await openRegular(root, rel);
  try {
    if (size !== expectedSize) return { sha256: undefined, size };
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, expectedSize + 1));
    let total = 0;
    while (total <= expectedSize) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      total += bytesRead;
    }
    return { sha256: total === expectedSize ? hash.digest("hex") : undefined, size: total };
  } catch {
    throw new BundleReadError(rel, "unreadable", "cannot be read");
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** One line of a `.jsonl` file: its text, or why it has none. */
export type JsonLine =
  | { readonly lineNo: number; readonly text: string }
  | { readonly lineNo: number; readonly problem: "too_long" | "not_utf8" };

/** How much of a line file was read. */
export interface LineReadSummary {
  /** Bytes of the file beyond `maxBytes` that were not read (0 when the whole file was). */
  unread: number;
}

/**
 * Streams the lines of a regular file (`\n`-separated, the last may lack its newline), reading at most `maxBytes`
 * and holding at most one line of `maxLine` bytes: a longer line is reported (`too_long`) and skipped, a line that is
 * not UTF-8 is reported (`not_utf8`). `summary.unread` tells how much was left unread.
 */
export async function* readLines(
  root: string,
  rel: string,
  maxBytes: number,
  summary: LineReadSummary,
  maxLine = MAX_LINE_BYTES,
): AsyncGenerator<JsonLine> {
  const { handle, size } = await openRegular(root, rel);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  summary.unread = Math.max(0, size - maxBytes);
  let lineNo = 0;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let skipping = false;
  const finish = (): JsonLine => {
    lineNo += 1;
    const bytes = Buffer.concat(parts, partBytes);
    parts = [];
    partBytes = 0;
    if (skipping) {
      skipping = false;
      return { lineNo, problem: "too_long" };
    }
    try {
      return { lineNo, text: decoder.decode(bytes) };
    } catch {
      return { lineNo, problem: "not_utf8" };
    }
  };
  try {
    let position = 0;
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(READ_CHUNK, maxBytes, size + 1)));
    while (position < maxBytes) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(
          buffer,
          0,
          Math.min(buffer.length, maxBytes - position),
          position,
        ));
      } catch {
        throw new BundleReadError(rel, "unreadable", "cannot be read");
      }
      if (bytesRead === 0) break;
      position += bytesRead;
      let start = 0;
      for (;;) {
        const newline = buffer.indexOf(0x0a, start);
        const end = newline < 0 || newline >= bytesRead ? bytesRead : newline;
        if (!skipping) {
          if (partBytes + (end - start) > maxLine) {
            skipping = true;
            parts = [];
            partBytes = 0;
          } else if (end > start) {
            parts.push(Buffer.from(buffer.subarray(start, end)));
            partBytes += end - start;
          }
        }
        if (newline < 0 || newline >= bytesRead) break;
        yield finish();
        start = newline + 1;
      }
    }
    if (partBytes > 0 || skipping) yield finish();
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** A path found in the bundle folder, and what it is. */
export interface FoundPath {
  readonly path: string;
  readonly regular: boolean;
  /** What it is when not a regular file (`a symbolic link`, `a FIFO`, ...). */
  readonly kind: string;
}

/**
 * Every entry under `root` (relative `/`-separated paths): folders are descended up to the deepest a bundle path can
 * be, symlinks never; at most {@link MAX_LISTED_ENTRIES} entries (`truncated` says when there were more).
 */
export async function listBundleFolder(root: string): Promise<{ found: FoundPath[]; truncated: boolean }> {
  const found: FoundPath[] = [];
  let truncated = false;
  const walk = async (prefix: string, depth: number): Promise<void> => {
    for await (const entry of await opendir(join(root, prefix))) {
      if (found.length >= MAX_LISTED_ENTRIES) {
        truncated = true;
        return;
      }
      const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) {
        if (depth + 1 >= MAX_DEPTH) found.push({ path, regular: false, kind: "a folder nested too deep" });
        else await walk(path, depth + 1);
        continue;
      }
      found.push({ path, regular: entry.isFile(), kind: kindOf(entry) });
    }
  };
  await walk("", 0);
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { found, truncated };
}
