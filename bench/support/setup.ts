// What every bench script sets up the same way: the seeded EHR on a server, the bench's export policy.

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { exportPolicy } from "#test/support/export-policy.ts";
import { seedEhr } from "#tools/ehr/seed.ts";
import { type GatewayProcess, startGatewayProcess } from "./processes.ts";

/** A rate limit no bench load reaches: the bench measures the path, not the limiter. */
export const BENCH_RATE = { requestsPerMinute: 1_000_000, burst: 100_000 } as const;

/** How many rows of each table to seed. */
export interface EhrSizes {
  readonly patients: number;
  readonly encounters: number;
  readonly medications: number;
}

/** Seeds the synthetic EHR into the database at `url` and analyzes it (planner estimates as in production). */
export async function seedBenchEhr(
  url: string,
  sizes: EhrSizes,
): Promise<Awaited<ReturnType<typeof seedEhr>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const seeded = await seedEhr(client, sizes);
    await client.query("ANALYZE");
    return seeded;
  } finally {
    await client.end();
  }
}

/** Writes the bench's export policy (the nightly job may read `maxRows` without approval) to `path`. */
export async function writeBenchPolicy(path: string, maxRows: number): Promise<void> {
  await writeFile(path, exportPolicy(maxRows, 600_000, BENCH_RATE));
}

/**
 * Starts a gateway child on the server at `databaseUrl` with the bench's export policy (`maxRows`), its policy
 * file and data folder under `root`; `env` adds to the child's settings (profiling flags...).
 */
export async function startBenchGateway(
  root: string,
  databaseUrl: string,
  maxRows: number,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const policyPath = join(root, "policy.yaml");
  await writeBenchPolicy(policyPath, maxRows);
  await mkdir(join(root, "gateway"));
  return startGatewayProcess({
    BENCH_DATA_DIR: join(root, "gateway"),
    BENCH_POLICY: policyPath,
    BENCH_DATABASE_URL: databaseUrl,
    ...env,
  });
}
