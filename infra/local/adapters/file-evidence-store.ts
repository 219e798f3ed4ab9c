// EvidenceStore on local files: each bundle is written into a staging folder and renamed into place when sealed.

import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { syncDirectory } from "#infra/local/adapters/atomic-file.ts";
import { ConflictError, PhigateError, UnavailableError } from "#shared/errors.ts";
import { isSafeBundlePath } from "#shared/evidence/bundle-format.ts";
import type { BundleSink, EvidenceStore, WrittenFile } from "#shared/ports.ts";

const BUNDLE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

function unavailable(error: unknown): UnavailableError {
  return new UnavailableError("store_unavailable", "the evidence store is unavailable", { cause: error });
}

class FileBundleSink implements BundleSink {
  private readonly written = new Set<string>();
  private done = false;

  constructor(
    private readonly staging: string,
    private readonly final: string,
  ) {}

  async write(path: string, body: Uint8Array | AsyncIterable<Uint8Array>): Promise<WrittenFile> {
    if (this.done) throw new TypeError("the bundle is already sealed or discarded");
    if (!isSafeBundlePath(path) || this.written.has(path)) throw new TypeError("invalid bundle file path");
    this.written.add(path);
    const target = resolve(this.staging, path);
    if (!target.startsWith(this.staging + sep)) throw new TypeError("invalid bundle file path");
    const hash = createHash("sha256");
    let size = 0;
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      const file = await open(target, "wx", 0o600);
      try {
        for await (const chunk of body instanceof Uint8Array ? [body] : body) {
          hash.update(chunk);
          size += chunk.length;
          await file.write(chunk);
        }
        await file.datasync();
      } finally {
        await file.close();
      }
      await chmod(target, 0o400);
    } catch (error) {
      if (error instanceof PhigateError) throw error;
      throw unavailable(error);
    }
    return { path, sha256: hash.digest("hex"), size };
  }

  async seal(): Promise<string> {
    if (this.done) throw new TypeError("the bundle is already sealed or discarded");
    this.done = true;
    try {
      for (const path of new Set([...this.written].map((p) => dirname(join(this.staging, p))))) {
        await syncDirectory(path);
      }
      await rename(this.staging, this.final);
      await syncDirectory(dirname(this.final));
    } catch (error) {
      await rm(this.staging, { recursive: true, force: true }).catch(() => undefined);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") {
        throw new ConflictError("bundle_exists", "an evidence bundle with this id already exists");
      }
      throw unavailable(error);
    }
    return this.final;
  }

  async discard(): Promise<void> {
    this.done = true;
    await rm(this.staging, { recursive: true, force: true });
  }
}

/** Bundles live in `directory/<bundleId>/`; a half-written bundle is never visible there. */
export class FileEvidenceStore implements EvidenceStore {
  private readonly root: string;

  constructor(directory: string) {
    this.root = resolve(directory);
  }

  async open(bundleId: string): Promise<BundleSink> {
    if (!BUNDLE_ID.test(bundleId)) throw new TypeError("invalid bundle id");
    const final = join(this.root, bundleId);
    const exists = await stat(final).then(
      () => true,
      (error: NodeJS.ErrnoException) =>
        error.code === "ENOENT" ? false : Promise.reject(unavailable(error)),
    );
    if (exists) throw new ConflictError("bundle_exists", "an evidence bundle with this id already exists");
    const staging = join(this.root, `.staging-${bundleId}-${randomBytes(4).toString("hex")}`);
    try {
      await mkdir(staging, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw unavailable(error);
    }
    return new FileBundleSink(staging, final);
  }
}
