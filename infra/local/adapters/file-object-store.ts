// ObjectStore on local files: write-once objects (small ones in group-committed segments, large ones as files linked
// into place), with HMAC-signed expiring links.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { statSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { writeFileOnce } from "#infra/local/adapters/atomic-file.ts";
import { ObjectSegments, segmentEligible } from "#infra/local/adapters/object-segments.ts";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import type { Logger } from "#shared/log.ts";
import type { Clock, ObjectStore, StoredObject } from "#shared/ports.ts";
import { systemClock } from "#shared/ports.ts";

const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,511}$/;

/** Largest object given whole that goes to a segment; larger, empty and streamed ones get a file of their own. */
const SEGMENT_OBJECT_MAX_BYTES = 8 * 1024 * 1024;

/** Where objects live and how links to them are formed. */
export interface FileObjectStoreOptions {
  readonly directory: string;
  /** Key signing download links (32 bytes, from the KeyProvider). */
  readonly linkKey: Uint8Array;
  /** Base URL of the host serving `GET /objects/...` links, e.g. `http://127.0.0.1:8787`. */
  readonly baseUrl: () => string;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Where an object's bytes are: a whole file, or a range of a segment. */
export interface ObjectSource {
  readonly path: string;
  readonly start: number;
  /** Undefined for a whole file. */
  readonly size: number | undefined;
}

/** A verified download link: the object key it grants. */
export interface LinkGrant {
  readonly key: string;
}

/**
 * The `ObjectStore` of the local host. Objects are immutable: a second put of a key is a conflict. An object given
 * whole (an inline result) is appended to its folder's segment (`.segments/<folder>/.seg`, {@link ObjectSegments}):
 * concurrent puts share one fdatasync and no put creates a file or syncs a folder. A streamed object gets its own
 * file, written, fdatasync'd and linked into place. Either way `put` resolves only once the object is durable.
 */
export class FileObjectStore implements ObjectStore {
  private readonly root: string;
  private readonly clock: Clock;
  private readonly segments: ObjectSegments;

  constructor(private readonly options: FileObjectStoreOptions) {
    this.root = resolve(options.directory);
    this.clock = options.clock ?? systemClock;
    this.segments = new ObjectSegments({ directory: join(this.root, ".segments"), logger: options.logger });
  }

  async put(
    key: string,
    body: Uint8Array | AsyncIterable<Uint8Array>,
    contentType: string,
  ): Promise<StoredObject> {
    const path = this.pathOf(key);
    if (
      body instanceof Uint8Array &&
      body.length > 0 &&
      body.length <= SEGMENT_OBJECT_MAX_BYTES &&
      segmentEligible(key)
    ) {
      const sha256 = createHash("sha256").update(body).digest("hex");
      let created: boolean;
      try {
        created = !fileExists(path) && (await this.segments.append(key, body, sha256));
      } catch (error) {
        throw new UnavailableError("store_unavailable", "the object store is unavailable", { cause: error });
      }
      if (!created) throw new ConflictError("object_exists", "an object with this key already exists");
      return { key, sha256, size: body.length, contentType };
    }
    const hash = createHash("sha256");
    let size = 0;
    async function* counted(): AsyncIterable<Uint8Array> {
      for await (const chunk of body instanceof Uint8Array ? [body] : body) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    }
    let created: boolean;
    try {
      created =
        !(segmentEligible(key) && (await this.segments.locate(key)) !== undefined) &&
        (await writeFileOnce(path, counted(), 0o600));
    } catch (error) {
      throw new UnavailableError("store_unavailable", "the object store is unavailable", { cause: error });
    }
    if (!created) throw new ConflictError("object_exists", "an object with this key already exists");
    return { key, sha256: hash.digest("hex"), size, contentType };
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(key);
    try {
      const source = await this.source(key);
      if (source.size === undefined) return await readFile(path);
      const file = await open(source.path, "r");
      try {
        const bytes = Buffer.alloc(source.size);
        await file.read(bytes, 0, source.size, source.start);
        return bytes;
      } finally {
        await file.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new UnavailableError("store_unavailable", "the object store is unavailable", { cause: error });
    }
  }

  /** Where `key`'s bytes are (for streaming them out): its segment range, or else its own file. */
  async source(key: string): Promise<ObjectSource> {
    const path = this.pathOf(key);
    const located = segmentEligible(key) ? await this.segments.locate(key) : undefined;
    return located ?? { path, start: 0, size: undefined };
  }

  /** Closes the segment files once their pending appends are committed. */
  close(): Promise<void> {
    return this.segments.close();
  }

  async readUrl(key: string, ttlSeconds: number): Promise<string> {
    this.pathOf(key);
    const expires = Math.floor(this.clock.now().getTime() / 1000) + ttlSeconds;
    const signature = this.sign(key, expires);
    return `${this.options.baseUrl()}/objects/${key}?expires=${expires}&signature=${signature}`;
  }

  /** Checks a link's expiry and signature; returns the granted key or undefined. */
  verifyLink(key: string, expires: string | undefined, signature: string | undefined): LinkGrant | undefined {
    if (
      !KEY_PATTERN.test(key) ||
      expires === undefined ||
      signature === undefined ||
      !/^\d{1,12}$/.test(expires)
    ) {
      return undefined;
    }
    const expiry = Number(expires);
    if (expiry < this.clock.now().getTime() / 1000) return undefined;
    const expected = Buffer.from(this.sign(key, expiry), "hex");
    const given = Buffer.from(signature, "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return { key };
  }

  /** The absolute file path of an object (for streaming it out). */
  pathOf(key: string): string {
    if (!KEY_PATTERN.test(key) || key.split("/").some((part) => part === ".." || part === ".")) {
      throw new TypeError("invalid object key");
    }
    const path = resolve(join(this.root, key));
    if (!path.startsWith(this.root + sep)) throw new TypeError("invalid object key");
    return path;
  }

  private sign(key: string, expires: number): string {
    return createHmac("sha256", this.options.linkKey).update(`${key}\n${expires}`).digest("hex");
  }
}

/**
 * Whether a file is at `path`; any error but its absence is thrown. One `stat` on the main thread: an object's
 * file is almost always absent, and the promise API answers that with a rejection built from an error and its
 * stack, after a hop through the thread pool the journal's syncs queue on too (every small read paid it).
 */
function fileExists(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}
