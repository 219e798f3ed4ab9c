// Durable file helpers: write-once creation leaves either the whole file or nothing, and never a temporary file.

import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { syncDirectory, writeFileOnce } from "#infra/local/adapters/atomic-file.ts";

describe("writeFileOnce", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-atomic-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates the file (and its folder, 0700) with the given mode, and nothing else", async () => {
    const path = join(dir, "a", "b.bin");
    async function* chunks(): AsyncIterable<Uint8Array> {
      yield Buffer.from("one ");
      yield Buffer.from("two");
    }
    expect(await writeFileOnce(path, chunks(), 0o400)).toBe(true);
    expect(await readFile(path, "utf8")).toBe("one two");
    expect((await stat(path)).mode & 0o777).toBe(0o400);
    expect((await stat(join(dir, "a"))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, "a"))).toEqual(["b.bin"]);
  });

  it("changes nothing when the file exists", async () => {
    const path = join(dir, "taken");
    await writeFile(path, "first");
    expect(await writeFileOnce(path, Buffer.from("second"), 0o600)).toBe(false);
    expect(await readFile(path, "utf8")).toBe("first");
    expect(await readdir(dir)).toEqual(["taken"]);
  });

  it("leaves nothing behind when the body fails part-way", async () => {
    const path = join(dir, "broken");
    async function* failing(): AsyncIterable<Uint8Array> {
      yield Buffer.from("partial");
      throw new Error("source failed");
    }
    await expect(writeFileOnce(path, failing(), 0o600)).rejects.toThrow("source failed");
    expect(await readdir(dir)).toEqual([]);
  });

  it("syncs a directory, and fails for one that does not exist", async () => {
    await syncDirectory(dir);
    await expect(syncDirectory(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
