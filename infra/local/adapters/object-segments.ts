// Small write-once objects appended to one segment file per key folder, group-committed (one fdatasync per batch).

import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { syncDirectory } from "#infra/local/adapters/atomic-file.ts";
import type { Logger } from "#shared/log.ts";

/** Where an object's bytes lie in a segment file. */
export interface SegmentLocation {
  readonly path: string;
  readonly start: number;
  readonly size: number;
}

/** The segment root and how appends are made durable. */
export interface ObjectSegmentsOptions {
  /** Folder holding the segment files (one `<key folder>/.seg` per key folder). */
  readonly directory: string;
  readonly logger?: Logger | undefined;
  /** Makes a segment's appended bytes (and its length) durable; `fdatasync` unless a test intervenes. */
  readonly datasync?: (file: FileHandle) => Promise<void>;
}

interface FrameHeader {
  readonly key: string;
  readonly size: number;
  readonly sha256: string;
  /** The commit group the frame was written in (increasing within a segment). */
  readonly batch: number;
}

interface Pending {
  readonly key: string;
  readonly body: Uint8Array;
  readonly sha256: string;
  resolve(created: boolean): void;
  reject(error: unknown): void;
}

interface Segment {
  readonly path: string;
  readonly index: Map<string, { start: number; size: number }>;
  /** Keys queued or being committed (a second append of one is refused at once). */
  readonly pending: Set<string>;
  readonly queue: Pending[];
  /** Length of the verified frames; bytes past it are an unacknowledged tail, cut before the next append. */
  size: number;
  batch: number;
  file: FileHandle | undefined;
  flushing: Promise<void> | undefined;
  broken: unknown;
}

const HEADER_MAX_BYTES = 2_048;
const NEWLINE = 0x0a;

/** Whether a key may live in a segment: every folder part is a plain name (segments are named after folders). */
export function segmentEligible(key: string): boolean {
  return !key.split("/").some((part) => part.startsWith("."));
}

/**
 * Write-once objects stored as frames (`{key,size,sha256,batch}\n` + bytes + `\n`) appended to one file per key
 * folder. Appends queued while a commit runs are written and fdatasync'd together (group commit), and an append
 * resolves only once the sync covering it has completed; a failed commit cuts the file back and rejects the group.
 * A segment is indexed when first used; a torn tail (a group never acknowledged) is cut before the next append,
 * and the last group's frames are checked against their digests, since only that group can have been unsynced.
 */
export class ObjectSegments {
  private readonly segments = new Map<string, Promise<Segment>>();

  constructor(private readonly options: ObjectSegmentsOptions) {}

  /** Where `key`'s bytes are, once durable; undefined when no segment holds it. */
  async locate(key: string): Promise<SegmentLocation | undefined> {
    const segment = await this.segmentOf(key);
    const found = segment.index.get(key);
    return found === undefined ? undefined : { path: segment.path, start: found.start, size: found.size };
  }

  /** Appends `key` once: resolves true when durable, false (changing nothing) when the key exists. */
  async append(key: string, body: Uint8Array, sha256: string): Promise<boolean> {
    const segment = await this.segmentOf(key);
    if (segment.index.has(key) || segment.pending.has(key)) return false;
    if (segment.broken !== undefined) throw segment.broken;
    segment.pending.add(key);
    return new Promise<boolean>((resolve, reject) => {
      segment.queue.push({ key, body, sha256, resolve, reject });
      segment.flushing ??= this.flush(segment);
    });
  }

  /** Closes open segment files once their queued appends are committed. */
  async close(): Promise<void> {
    for (const loading of this.segments.values()) {
      const segment = await loading.catch(() => undefined);
      if (segment === undefined) continue;
      while (segment.flushing !== undefined) await segment.flushing.catch(() => undefined);
      await segment.file?.close();
      segment.file = undefined;
    }
  }

  private segmentOf(key: string): Promise<Segment> {
    const folder = posix.dirname(key);
    let loading = this.segments.get(folder);
    if (loading === undefined) {
      loading = this.load(join(this.options.directory, folder, ".seg"));
      this.segments.set(folder, loading);
      loading.catch(() => this.segments.delete(folder));
    }
    return loading;
  }

  private async flush(segment: Segment): Promise<void> {
    try {
      while (segment.queue.length > 0) await this.commit(segment, segment.queue.splice(0));
    } finally {
      segment.flushing = undefined;
    }
  }

  private async commit(segment: Segment, group: Pending[]): Promise<void> {
    const batch = segment.batch + 1;
    const start = segment.size;
    const parts: Buffer[] = [];
    const placed: { key: string; start: number; size: number }[] = [];
    let offset = start;
    for (const p of group) {
      const header = Buffer.from(
        `${JSON.stringify({ key: p.key, size: p.body.length, sha256: p.sha256, batch } satisfies FrameHeader)}\n`,
      );
      parts.push(
        header,
        Buffer.from(p.body.buffer, p.body.byteOffset, p.body.length),
        Buffer.from([NEWLINE]),
      );
      placed.push({ key: p.key, start: offset + header.length, size: p.body.length });
      offset += header.length + p.body.length + 1;
    }
    try {
      if (segment.broken !== undefined) throw segment.broken;
      const file = await this.fileOf(segment);
      const { bytesWritten } = await file.writev(parts, start);
      if (bytesWritten !== offset - start) throw new Error("an object segment write was cut short");
      await (this.options.datasync ?? ((f: FileHandle) => f.datasync()))(file);
    } catch (error) {
      await this.cutBack(segment, start);
      for (const p of group) segment.pending.delete(p.key);
      for (const p of group) p.reject(error);
      return;
    }
    segment.size = offset;
    segment.batch = batch;
    for (const { key, ...at } of placed) segment.index.set(key, at);
    for (const p of group) segment.pending.delete(p.key);
    for (const p of group) p.resolve(true);
  }

  /** Opens the segment for appending: creates it (syncing the folders made for it) or cuts an unacknowledged tail. */
  private async fileOf(segment: Segment): Promise<FileHandle> {
    if (segment.file !== undefined) return segment.file;
    const folder = dirname(segment.path);
    const made = await mkdir(folder, { recursive: true, mode: 0o700 });
    const file = await open(segment.path, constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      const length = (await file.stat()).size;
      if (length > segment.size) {
        this.options.logger?.warn("cut an unacknowledged object segment tail", {
          bytes: length - segment.size,
        });
        await file.truncate(segment.size);
        await file.datasync();
      }
      if (length === 0 && segment.size === 0) {
        const top = made === undefined ? folder : dirname(made);
        for (let dir = folder; ; dir = dirname(dir)) {
          await syncDirectory(dir);
          if (dir === top || dirname(dir) === dir) break;
        }
      }
    } catch (error) {
      await file.close();
      throw error;
    }
    segment.file = file;
    return file;
  }

  /** Cuts a failed group's bytes off; a segment that cannot be cut back refuses further appends. */
  private async cutBack(segment: Segment, start: number): Promise<void> {
    try {
      const file = segment.file;
      if (file === undefined) return;
      await file.truncate(start);
      await file.datasync();
    } catch (error) {
      segment.broken = error;
      this.options.logger?.error(
        "an object segment could not be cut back after a failed write; refusing writes",
      );
    }
  }

  /** Indexes a segment's frames up to the first that does not verify. */
  private async load(path: string): Promise<Segment> {
    const segment: Segment = {
      path,
      index: new Map(),
      pending: new Set(),
      queue: [],
      size: 0,
      batch: 0,
      file: undefined,
      flushing: undefined,
      broken: undefined,
    };
    let file: FileHandle;
    try {
      file = await open(path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return segment;
      throw error;
    }
    try {
      const length = (await file.stat()).size;
      const frames: (FrameHeader & { frameStart: number; start: number })[] = [];
      let offset = 0;
      const chunk = Buffer.alloc(HEADER_MAX_BYTES);
      while (offset < length) {
        const { bytesRead } = await file.read(chunk, 0, HEADER_MAX_BYTES, offset);
        const header = parseHeader(chunk.subarray(0, bytesRead));
        if (header === undefined) break;
        const start = offset + header.length;
        const end = start + header.value.size;
        if (end + 1 > length || (await byteAt(file, end)) !== NEWLINE) break;
        if (header.value.batch < (frames.at(-1)?.batch ?? 0) || segment.index.has(header.value.key)) break;
        frames.push({ ...header.value, frameStart: offset, start });
        segment.index.set(header.value.key, { start, size: header.value.size });
        offset = end + 1;
      }
      const lastBatch = frames.at(-1)?.batch ?? 0;
      for (const frame of frames.filter((f) => f.batch === lastBatch)) {
        const bytes = Buffer.alloc(frame.size);
        await file.read(bytes, 0, frame.size, frame.start);
        if (createHash("sha256").update(bytes).digest("hex") === frame.sha256) continue;
        for (const later of frames.filter((f) => f.start >= frame.start)) segment.index.delete(later.key);
        offset = frame.frameStart;
        break;
      }
      segment.size = offset;
      segment.batch = lastBatch;
    } finally {
      await file.close();
    }
    return segment;
  }
}

function parseHeader(bytes: Buffer): { value: FrameHeader; length: number } | undefined {
  const end = bytes.indexOf(NEWLINE);
  if (end < 0) return undefined;
  try {
    const value = JSON.parse(bytes.subarray(0, end).toString("utf8")) as Partial<FrameHeader>;
    if (
      typeof value.key !== "string" ||
      !Number.isSafeInteger(value.size) ||
      (value.size as number) < 0 ||
      typeof value.sha256 !== "string" ||
      !Number.isSafeInteger(value.batch)
    )
      return undefined;
    return { value: value as FrameHeader, length: end + 1 };
  } catch {
    return undefined;
  }
}

async function byteAt(file: FileHandle, position: number): Promise<number | undefined> {
  const one = Buffer.alloc(1);
  const { bytesRead } = await file.read(one, 0, 1, position);
  return bytesRead === 1 ? one[0] : undefined;
}
