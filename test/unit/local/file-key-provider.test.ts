// The file key provider: 32-byte keys created durably (0600, no leftovers), and any other length refused.

import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileKeyProvider, loadOrCreateSecret } from "#infra/local/adapters/file-key-provider.ts";
import { ConfigurationError } from "#shared/errors.ts";

describe("FileKeyProvider", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-keys-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates one 32-byte key per purpose (mode 0600, nothing else left behind) and keeps it", async () => {
    const keys = join(dir, "keys");
    const first = await new FileKeyProvider(keys).key("result-link");
    expect(first).toHaveLength(32);
    expect(await new FileKeyProvider(keys).key("result-link")).toEqual(first);
    expect(await new FileKeyProvider(keys).key("tokenization")).not.toEqual(first);
    expect((await readdir(keys)).sort()).toEqual(["result-link.key", "tokenization.key"]);
    expect((await stat(join(keys, "result-link.key"))).mode & 0o777).toBe(0o600);
    expect((await stat(keys)).mode & 0o777).toBe(0o700);
  });

  it.each([
    ["empty (a crash during the first start)", 0],
    ["short", 31],
    ["long", 33],
  ])("refuses a key file that is %s, naming the file but not its content", async (_, length) => {
    const keys = join(dir, "keys");
    await mkdir(keys);
    const content = Buffer.alloc(length, 0x61);
    await writeFile(join(keys, "approver-session.key"), content, { mode: 0o600 });
    const error = await new FileKeyProvider(keys).key("approver-session").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(join(keys, "approver-session.key"));
    expect((error as Error).message).toContain(length === 0 ? "is empty" : `${length} bytes`);
    if (length > 0) {
      expect((error as Error).message).not.toContain(content.toString("utf8"));
      expect((error as Error).message).not.toContain(content.toString("hex"));
    }
    // The damaged file is left alone for the operator.
    expect(await readFile(join(keys, "approver-session.key"))).toEqual(content);
  });

  it("refuses an empty secret file of any kind, and never creates one", async () => {
    const path = join(dir, "keys", "signing.pem");
    await mkdir(join(dir, "keys"));
    await writeFile(path, "");
    await expect(loadOrCreateSecret(path, () => Buffer.from("secret"))).rejects.toThrow(
      new ConfigurationError(`the secret file ${path} is empty`),
    );
    const fresh = join(dir, "keys", "fresh.pem");
    const created = await loadOrCreateSecret(fresh, () => Buffer.from("secret"));
    expect(Buffer.from(created).toString()).toBe("secret");
    expect(await readFile(fresh, "utf8")).toBe("secret");
  });

  it("hands every concurrent first caller the same key", async () => {
    const keys = join(dir, "keys");
    const all = await Promise.all(
      Array.from({ length: 8 }, () => new FileKeyProvider(keys).key("parameter-digest")),
    );
    for (const key of all) expect(key).toEqual(all[0]);
    expect(await readdir(keys)).toEqual(["parameter-digest.key"]);
  });
});
