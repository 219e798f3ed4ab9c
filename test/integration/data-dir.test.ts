// DATA_DIR at start: tightened to the owner, a damaged key refuses to start, one gateway per folder (the lock).

import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { lockDataDir } from "#infra/local/data-dir-lock.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { startTestGateway } from "#test/support/gateway.ts";

describe("DATA_DIR", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "phigate-datadir-"));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("closes an existing DATA_DIR (and its database folder) open to group and others to the owner", async () => {
    await cp(inject("pgdataTemplate"), join(dataDir, "pgdata"), { recursive: true });
    await chmod(join(dataDir, "pgdata"), 0o755);
    await chmod(dataDir, 0o755);
    const gw = await startTestGateway({ dataDir });
    try {
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(dataDir, "pgdata"))).mode & 0o777).toBe(0o700);
    } finally {
      await gw.close();
    }
  });

  it("refuses to start on a key file a crash left empty, and says which file", async () => {
    await mkdir(join(dataDir, "keys"), { mode: 0o700 });
    await writeFile(join(dataDir, "keys", "approver-session.key"), "", { mode: 0o600 });
    const error = await startTestGateway({ dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(join(dataDir, "keys", "approver-session.key"));
  });
});

describe("lockDataDir", () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "phigate-lock-"));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  function deadPid(): number {
    const child = spawnSync(process.execPath, ["-e", ""]);
    return child.pid ?? 0;
  }

  it("takes over a lock whose owner is gone, refuses one whose owner lives, and releases only its own", async () => {
    const path = join(dataDir, "phigate.pid");
    await writeFile(path, `${deadPid()}\n`);
    const unlock = await lockDataDir(dataDir);
    expect(Number.parseInt(await readFile(path, "utf8"), 10)).toBe(process.pid);
    expect(await readdir(dataDir)).toEqual(["phigate.pid"]);
    await unlock();
    expect(await readdir(dataDir)).toEqual([]);

    await writeFile(path, `${process.ppid}\n`);
    await expect(lockDataDir(dataDir)).rejects.toThrow(`another phigate (pid ${process.ppid}) is using`);
    expect(await readFile(path, "utf8")).toBe(`${process.ppid}\n`);
  });

  it("lets exactly one of several processes starting at once over a stale lock win", async () => {
    await writeFile(join(dataDir, "phigate.pid"), `${deadPid()}\n`);
    const children = Array.from({ length: 8 }, () =>
      spawn(process.execPath, ["--import", "tsx", "test/support/lock-child.ts", dataDir], {
        stdio: ["pipe", "pipe", "inherit"],
      }),
    );
    try {
      const outputs = children.map((child) =>
        createInterface({ input: child.stdout })[Symbol.asyncIterator](),
      );
      for (const output of outputs) expect((await output.next()).value).toBe("ready");
      for (const child of children) child.stdin.write("go\n");
      const answers = await Promise.all(outputs.map(async (output) => String((await output.next()).value)));
      expect(answers.filter((a) => a === "locked")).toHaveLength(1);
      expect(answers.filter((a) => a.startsWith("refused another phigate"))).toHaveLength(7);
    } finally {
      for (const child of children) child.stdin.end();
      await Promise.all(children.map((child) => (child.exitCode === null ? once(child, "exit") : undefined)));
    }
    expect(await readdir(dataDir)).toEqual([]);
  });
});
