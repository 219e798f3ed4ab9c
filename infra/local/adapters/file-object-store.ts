// ObjectStore on local files: write-once objects, fsync'd and linked into place, with HMAC-signed expiring links.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { writeFileOnce } from "#infra/local/adapters/atomic-file.ts";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import type { Clock, ObjectStore, StoredObject } from "#shared/ports.ts";
import { systemClock } from "#shared/ports.ts";

const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,511}$/;

/** Where objects live and how links to them are formed. */
export interface FileObjectStoreOptions {
  readonly directory: string;
  /** Key signing download links (32 bytes, from the KeyProvider). */
  readonly linkKey: Uint8Array;
  /** Base URL of the host serving `GET /objects/...` links, e.g. `http://127.0.0.1:8787`. */
  readonly baseUrl: () => string;
  readonly clock?: Clock;
}

/** A verified download link: the object key it grants. */
export interface LinkGrant {
  readonly key: string;
}

/** The `ObjectStore` of the local host. Objects are immutable: a second put of a key is a conflict. */
export class FileObjectStore implements ObjectStore {
  private readonly root: string;
  private readonly clock: Clock;

  constructor(private readonly options: FileObjectStoreOptions) {
    this.root = resolve(options.directory);
    this.clock = options.clock ?? systemClock;
  }

  async put(
    key: string,
    body: Uint8Array | AsyncIterable<Uint8Array>,
    contentType: string,
  ): Promise<StoredObject> {
    const path = this.pathOf(key);
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
      created = await writeFileOnce(path, counted(), 0o600);
    } catch (error) {
      throw new UnavailableError("store_unavailable", "the object store is unavailable", { cause: error });
    }
    if (!created) throw new ConflictError("object_exists", "an object with this key already exists");
    return { key, sha256: hash.digest("hex"), size, contentType };
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new UnavailableError("store_unavailable", "the object store is unavailable", { cause: error });
    }
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
