// DATA_DIR at start: tightened to the owner, a damaged key refuses to start, one gateway per folder.

import { chmod, cp, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
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
