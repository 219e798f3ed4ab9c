// Global test setup: one seeded embedded database, built once and reused (copied) by every end-to-end test.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { PgliteExecutor } from "#infra/local/adapters/pglite-executor.ts";
import { ensureSeeded } from "#infra/local/seed-embedded.ts";
import { createJsonLogger } from "#shared/log.ts";

async function templateKey(): Promise<string> {
  const hash = createHash("sha256");
  const ehr = resolve("tools/ehr");
  for (const name of (await readdir(ehr)).sort()) hash.update(name).update(await readFile(join(ehr, name)));
  hash.update(await readFile(resolve("node_modules/@electric-sql/pglite/package.json")));
  // The built-ins file is what CATALOG_SQL reads: a changed query must not reuse an older run's list.
  hash.update(await readFile(resolve("shared/sql/catalog.ts")));
  return hash.digest("hex").slice(0, 16);
}

/**
 * Stops every PostgreSQL server a test of this run left behind (a test killed by a timeout skips its own cleanup)
 * and removes the run's temporary directory.
 */
async function stopLeftoverServers(runDir: string): Promise<void> {
  const { execFileSync } = await import("node:child_process");
  const { findPostgresBinDir } = await import("#test/support/postgres-server.ts");
  const binDir = findPostgresBinDir();
  for (const name of await readdir(runDir).catch(() => [] as string[])) {
    const data = join(runDir, name, "data");
    if (binDir === undefined || !existsSync(join(data, "postmaster.pid"))) continue;
    const pgCtl = [join(binDir, "pg_ctl"), "stop", "-D", data, "-m", "immediate"];
    try {
      if (process.getuid?.() === 0)
        execFileSync("runuser", ["-u", "postgres", "--", ...pgCtl], { stdio: "ignore" });
      else execFileSync(pgCtl[0] ?? "pg_ctl", pgCtl.slice(1), { stdio: "ignore" });
    } catch {
      // already stopped
    }
  }
  await rm(runDir, { recursive: true, force: true });
}

/**
 * Builds (or reuses) the seeded PGlite template and hands its path to the tests as `pgdataTemplate`; gives the run
 * one temporary directory (`PHIGATE_TEST_TMP`, inherited by the test workers) and cleans it up at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = await mkdtemp(join(tmpdir(), "phigate-test-run-"));
  await chmod(runDir, 0o755);
  process.env.PHIGATE_TEST_TMP = runDir;
  const cache = resolve("node_modules/.cache/phigate-test");
  const key = await templateKey();
  const template = join(cache, `pgdata-${key}`);
  const builtins = join(cache, `builtins-${key}.json`);
  if (!existsSync(template) || !existsSync(builtins)) {
    await mkdir(cache, { recursive: true });
    const building = `${template}.building-${process.pid}`;
    await rm(building, { recursive: true, force: true });
    const logger = createJsonLogger({ service: "test-setup", level: "warn" });
    const executor = await PgliteExecutor.start({ dataDir: building, logger });
    try {
      await ensureSeeded(executor, logger);
      const catalog = await executor.loadCatalog();
      await writeFile(builtins, JSON.stringify(catalog.builtins ?? []));
    } finally {
      await executor.close();
    }
    if (existsSync(template)) await rm(building, { recursive: true, force: true });
    else
      await rename(building, template).catch(async (error: unknown) => {
        await rm(building, { recursive: true, force: true });
        if (!existsSync(template)) throw error;
      });
  }
  project.provide("pgdataTemplate", template);
  process.env.PHIGATE_TEST_BUILTINS = builtins;
  return () => stopLeftoverServers(runDir);
}

declare module "vitest" {
  export interface ProvidedContext {
    pgdataTemplate: string;
  }
}
