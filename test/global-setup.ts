// Global test setup: one seeded embedded database, built once and reused (copied) by every end-to-end test.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { ensureSeeded } from "#infra/local/seed-embedded.ts";
import { PgliteExecutor } from "#shared/adapters/local/pglite-executor.ts";
import { createJsonLogger } from "#shared/log.ts";

async function templateKey(): Promise<string> {
  const hash = createHash("sha256");
  const ehr = resolve("shared/ehr");
  for (const name of (await readdir(ehr)).sort()) hash.update(name).update(await readFile(join(ehr, name)));
  hash.update(await readFile(resolve("node_modules/@electric-sql/pglite/package.json")));
  return hash.digest("hex").slice(0, 16);
}

/** Builds (or reuses) the seeded PGlite template and hands its path to the tests as `pgdataTemplate`. */
export default async function setup(project: TestProject): Promise<void> {
  const cache = resolve("node_modules/.cache/phigate-test");
  const template = join(cache, `pgdata-${await templateKey()}`);
  if (!existsSync(template)) {
    await mkdir(cache, { recursive: true });
    const building = `${template}.building-${process.pid}`;
    await rm(building, { recursive: true, force: true });
    const logger = createJsonLogger({ service: "test-setup", level: "warn" });
    const executor = await PgliteExecutor.start({ dataDir: building, logger });
    try {
      await ensureSeeded(executor, logger);
    } finally {
      await executor.close();
    }
    await rename(building, template).catch(async (error: unknown) => {
      await rm(building, { recursive: true, force: true });
      if (!existsSync(template)) throw error;
    });
  }
  project.provide("pgdataTemplate", template);
}

declare module "vitest" {
  export interface ProvidedContext {
    pgdataTemplate: string;
  }
}
