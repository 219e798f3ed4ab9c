// DATA_DIR at start: tightened to the owner, a damaged key refuses to start, one gateway per folder.

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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

  it("refuses to start on a key file a crash left empty, and says which file", async () => {
    await mkdir(join(dataDir, "keys"), { mode: 0o700 });
    await writeFile(join(dataDir, "keys", "approver-session.key"), "", { mode: 0o600 });
    const error = await startTestGateway({ dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(join(dataDir, "keys", "approver-session.key"));
  });
});
