// Key files at start (finding 4): a symlinked, shared or foreign key file refuses the start naming it, a loose mode is
// tightened to 0600; the database files PGlite writes 0666 are closed to the owner.

import { chmod, cp, link, lstat, mkdir, mkdtemp, opendir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { ConfigurationError } from "#shared/errors.ts";
import { startTestGateway } from "#test/support/gateway.ts";

/** 32 bytes anyone can read: what an attacker who can plant a symlink would point a key at. */
const KNOWN = Buffer.alloc(32, 7);

async function modes(root: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    found.set(path, info.mode & 0o7777);
    if (info.isDirectory()) for await (const entry of await opendir(path)) await walk(join(path, entry.name));
  };
  await walk(root);
  return found;
}

describe("key files and database files at start", () => {
  let dataDir: string;
  let outside: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "phigate-keys-"));
    outside = await mkdtemp(join(tmpdir(), "phigate-known-"));
    await writeFile(join(outside, "known.key"), KNOWN, { mode: 0o644 });
    await mkdir(join(dataDir, "keys"), { mode: 0o700 });
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  async function refused(): Promise<Error> {
    const error = await startTestGateway({ dataDir }).then(
      async (gw) => {
        await gw.close();
        return new Error("the gateway started");
      },
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(ConfigurationError);
    return error;
  }

  it.each(["approver-session.key", "result-link.key"])(
    "refuses %s as a symlink to a world-readable file, naming it",
    async (name) => {
      await symlink(join(outside, "known.key"), join(dataDir, "keys", name));
      const error = await refused();
      expect(error.message).toContain(`${join(dataDir, "keys", name)} is a symbolic link`);
    },
  );

  it("refuses a key file with a second name, one of another user, and a key folder that is a symlink", async () => {
    const path = join(dataDir, "keys", "approver-session.key");
    await writeFile(path, KNOWN, { mode: 0o600 });
    await link(path, join(outside, "second-name"));
    expect((await refused()).message).toContain(`${path} has 2 hard links`);
    await rm(join(outside, "second-name"));
    if (process.getuid?.() === 0) {
      const { chown } = await import("node:fs/promises");
      await chown(path, 1234, 1234);
      expect((await refused()).message).toContain(`${path} is owned by uid 1234`);
      await chown(path, 0, 0);
    }
    await rm(join(dataDir, "keys"), { recursive: true });
    await symlink(outside, join(dataDir, "keys"));
    expect((await refused()).message).toContain(`${join(dataDir, "keys")} is a symbolic link, not a folder`);
  });

  it("tightens a key file left world-readable to 0600, and closes PGlite's 0666 files to the owner", async () => {
    const path = join(dataDir, "keys", "tokenization.key");
    await writeFile(path, KNOWN);
    await chmod(path, 0o644);
    await chmod(join(dataDir, "keys"), 0o755);
    await cp(inject("pgdataTemplate"), join(dataDir, "pgdata"), { recursive: true });
    const before = await modes(join(dataDir, "pgdata"));
    expect([...before.values()].some((mode) => mode === 0o666)).toBe(true);
    const gw = await startTestGateway({ dataDir });
    try {
      expect((await lstat(path)).mode & 0o777).toBe(0o600);
      expect((await lstat(join(dataDir, "keys"))).mode & 0o777).toBe(0o700);
      expect(gw.logs.some((l) => l.includes("tightened the mode of a key file") && l.includes(path))).toBe(
        true,
      );
      const open = [...(await modes(join(dataDir, "pgdata")))].filter(([, mode]) => (mode & 0o077) !== 0);
      expect(open).toEqual([]);
    } finally {
      await gw.close();
    }
  });
});
