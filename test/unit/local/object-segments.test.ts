// Object segments: an append resolves only after a sync that covers it, concurrent appends share one sync, and a
// reopened segment keeps every acknowledged object and drops an unacknowledged tail.

import { createHash, randomBytes } from "node:crypto";
import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileObjectStore } from "#infra/local/adapters/file-object-store.ts";
import { ObjectSegments } from "#infra/local/adapters/object-segments.ts";
import { ConflictError } from "#shared/errors.ts";

const sha = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** A datasync the test completes (or fails) by hand, in the order the syncs started. */
function heldSyncs(): {
  datasync: () => Promise<void>;
  started: () => number;
  finish: (error?: Error) => void;
} {
  const waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  let count = 0;
  return {
    datasync: () =>
      new Promise<void>((resolve, reject) => {
        count++;
        waiting.push({ resolve, reject });
      }),
    started: () => count,
    finish: (error) => {
      const next = waiting.shift();
      if (next === undefined) throw new Error("no sync is running");
      if (error === undefined) next.resolve();
      else next.reject(error);
    },
  };
}

/** Resolves once `condition` holds, letting file I/O run meanwhile. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  if (!condition()) throw new Error("the condition never held");
}

/** Tracks whether a promise has settled. */
function watch<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  return { settled: () => done, promise };
}

async function bytesOf(segments: ObjectSegments, key: string): Promise<Buffer | undefined> {
  const at = await segments.locate(key);
  if (at === undefined) return undefined;
  return (await readFile(at.path)).subarray(at.start, at.start + at.size);
}

describe("ObjectSegments", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-segments-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("acknowledges an append only after a sync that started after it, and shares one sync among those queued meanwhile", async () => {
    const syncs = heldSyncs();
    const segments = new ObjectSegments({ directory: dir, datasync: syncs.datasync });
    const bodies = [randomBytes(100), randomBytes(200), randomBytes(300)];
    const first = watch(segments.append("r/a", bodies[0] as Buffer, sha(bodies[0] as Buffer)));
    await until(() => syncs.started() === 1);
    const second = watch(segments.append("r/b", bodies[1] as Buffer, sha(bodies[1] as Buffer)));
    const third = watch(segments.append("r/c", bodies[2] as Buffer, sha(bodies[2] as Buffer)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([first.settled(), second.settled(), third.settled()]).toEqual([false, false, false]);
    expect(await segments.locate("r/a")).toBeUndefined();

    syncs.finish();
    expect(await first.promise).toBe(true);
    await until(() => syncs.started() === 2);
    expect([second.settled(), third.settled()]).toEqual([false, false]);
    expect(await segments.locate("r/b")).toBeUndefined();

    syncs.finish();
    expect(await Promise.all([second.promise, third.promise])).toEqual([true, true]);
    expect(syncs.started()).toBe(2);
    for (const [i, key] of ["r/a", "r/b", "r/c"].entries())
      expect(await bytesOf(segments, key)).toEqual(bodies[i]);
    await segments.close();
  });

  it("writes a key once: a repeat, even one queued beside the first, changes nothing", async () => {
    const segments = new ObjectSegments({ directory: dir });
    const one = Buffer.from("one");
    const two = Buffer.from("two");
    expect(
      await Promise.all([segments.append("r/k", one, sha(one)), segments.append("r/k", two, sha(two))]),
    ).toEqual([true, false]);
    expect(await segments.append("r/k", two, sha(two))).toBe(false);
    expect(await bytesOf(segments, "r/k")).toEqual(one);
    await segments.close();
  });

  it("rejects the group whose sync failed, cuts its bytes off, and accepts the same keys again", async () => {
    const syncs = heldSyncs();
    const segments = new ObjectSegments({ directory: dir, datasync: syncs.datasync });
    const kept = Buffer.from("kept");
    const firstAppend = segments.append("r/kept", kept, sha(kept));
    await until(() => syncs.started() === 1);
    syncs.finish();
    await firstAppend;
    const path = (await segments.locate("r/kept"))?.path ?? "";
    const length = (await stat(path)).size;

    const lost = Buffer.from("lost");
    const failing = segments.append("r/lost", lost, sha(lost));
    await until(() => syncs.started() === 2);
    syncs.finish(new Error("EIO"));
    await expect(failing).rejects.toThrow("EIO");
    expect((await stat(path)).size).toBe(length);
    expect(await segments.locate("r/lost")).toBeUndefined();

    const again = segments.append("r/lost", lost, sha(lost));
    await until(() => syncs.started() === 3);
    syncs.finish();
    expect(await again).toBe(true);
    expect(await bytesOf(segments, "r/lost")).toEqual(lost);
    await segments.close();
  });

  it("reopened, keeps every acknowledged object and drops a torn tail, which the next append cuts off", async () => {
    const first = new ObjectSegments({ directory: dir });
    const a = randomBytes(500);
    const b = randomBytes(700);
    await first.append("r/a", a, sha(a));
    await first.append("r/b", b, sha(b));
    const path = (await first.locate("r/a"))?.path ?? "";
    await first.close();
    const acknowledged = (await stat(path)).size;
    // A crash mid-write: the next group's header reached the disk, half its bytes did not.
    await appendFile(
      path,
      `${JSON.stringify({ key: "r/torn", size: 1000, sha256: "0".repeat(64), batch: 3 })}\n`,
    );
    await appendFile(path, randomBytes(400));

    const second = new ObjectSegments({ directory: dir });
    expect(await bytesOf(second, "r/a")).toEqual(a);
    expect(await bytesOf(second, "r/b")).toEqual(b);
    expect(await second.locate("r/torn")).toBeUndefined();
    expect((await stat(path)).size).toBeGreaterThan(acknowledged);
    const c = randomBytes(300);
    await second.append("r/c", c, sha(c));
    await second.close();

    const third = new ObjectSegments({ directory: dir });
    expect(await bytesOf(third, "r/c")).toEqual(c);
    expect((await third.locate("r/c"))?.start).toBeGreaterThan(acknowledged);
    expect(await third.locate("r/torn")).toBeUndefined();
    const text = (await readFile(path)).toString("latin1");
    expect(text).not.toContain("r/torn");
  });

  it("drops a last group whose framing is whole but whose bytes do not match their digest (never synced)", async () => {
    const first = new ObjectSegments({ directory: dir });
    const a = randomBytes(64);
    await first.append("r/a", a, sha(a));
    const path = (await first.locate("r/a"))?.path ?? "";
    await first.close();
    // The length reached the disk before the data: the frame reads back whole, its bytes zeros.
    const intended = randomBytes(32);
    await appendFile(path, `${JSON.stringify({ key: "r/z", size: 32, sha256: sha(intended), batch: 2 })}\n`);
    await appendFile(path, Buffer.concat([Buffer.alloc(32), Buffer.from("\n")]));

    const second = new ObjectSegments({ directory: dir });
    expect(await bytesOf(second, "r/a")).toEqual(a);
    expect(await second.locate("r/z")).toBeUndefined();
    expect(await second.append("r/z", intended, sha(intended))).toBe(true);
    expect(await bytesOf(second, "r/z")).toEqual(intended);
    await second.close();
  });
});

describe("FileObjectStore with segments", () => {
  let dir: string;
  let store: FileObjectStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-store-"));
    store = new FileObjectStore({
      directory: dir,
      linkKey: randomBytes(32),
      baseUrl: () => "http://127.0.0.1",
    });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("stores a whole object in its folder's segment, creating no file of its own, and reads it back", async () => {
    const body = Buffer.from('{"columns":[],"rows":[]}');
    const stored = await store.put("results/2026-01-02/ses_1.json", body, "application/json");
    expect(stored).toEqual({
      key: "results/2026-01-02/ses_1.json",
      sha256: sha(body),
      size: body.length,
      contentType: "application/json",
    });
    await expect(stat(join(dir, "results/2026-01-02/ses_1.json"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(Buffer.from((await store.get(stored.key)) ?? [])).toEqual(body);
    await expect(store.put(stored.key, Buffer.from("again"), "application/json")).rejects.toBeInstanceOf(
      ConflictError,
    );
    async function* streamed(): AsyncIterable<Uint8Array> {
      yield Buffer.from("streamed");
    }
    await expect(store.put(stored.key, streamed(), "application/json")).rejects.toBeInstanceOf(ConflictError);
    expect(Buffer.from((await store.get(stored.key)) ?? [])).toEqual(body);
  });

  it("still reads objects stored as files before segments, and refuses to shadow them", async () => {
    const key = "results/2025-12-31/ses_old.json";
    await store.put("results/2025-12-31/ses_other.json", Buffer.from("x"), "application/json");
    await mkdir(join(dir, "results/2025-12-31"), { recursive: true });
    await writeFile(join(dir, key), "old", { mode: 0o600 });
    expect(Buffer.from((await store.get(key)) ?? []).toString()).toBe("old");
    await expect(store.put(key, Buffer.from("new"), "application/json")).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(Buffer.from((await store.get(key)) ?? []).toString()).toBe("old");
    expect(await store.get("results/2025-12-31/ses_none.json")).toBeUndefined();
  });
});
