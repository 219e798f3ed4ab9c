// `npm run bench:profile`: CPU profiles of the gateway process over a small-read loop and over an export, summarized by area.

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { NIGHTLY } from "#test/support/gateway.ts";
import { startPostgresServer } from "#test/support/postgres-server.ts";
import { EXPORT_SQL, gatewayExport, SMALL_READ_SQL } from "./e2e.ts";
import {
  type CpuProfile,
  type ProfileSummary,
  profileMarkdown,
  summarizeProfile,
} from "./support/cpu-profile.ts";
import { BenchClient } from "./support/http-client.ts";
import { seedBenchEhr, startBenchGateway } from "./support/setup.ts";

const positive = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? Number.NaN);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const READS = positive("BENCH_PROFILE_READS", 1_000);
const ROWS = positive("BENCH_PROFILE_ROWS", 200_000);
const OUT = resolve(
  process.env.BENCH_PROFILE_DIR ?? "bench/profiles",
  new Date().toISOString().replace(/[:.]/g, "-"),
);
const say = (text: string): void => {
  process.stderr.write(`[profile] ${text}\n`);
};

async function awaitFile(path: string): Promise<CpuProfile> {
  for (let i = 0; i < 600 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 100));
  return JSON.parse(await readFile(path, "utf8")) as CpuProfile;
}

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const root = await mkdtemp(join(tmpdir(), "phigate-profile-"));
  const server = await startPostgresServer({ database: "ehr" });
  try {
    say(`seeding ${ROWS.toLocaleString("en-US")} encounters`);
    await seedBenchEhr(server.url, {
      patients: Math.max(10_000, Math.ceil(ROWS / 6)),
      encounters: ROWS,
      medications: 1_000,
    });
    const prefix = join(OUT, "gateway");
    const gateway = await startBenchGateway(root, server.url, ROWS + 1, { BENCH_PROFILE_FILE: prefix });
    const client = new BenchClient(gateway.url);
    const summaries: ProfileSummary[] = [];
    try {
      const token = await client.token(NIGHTLY);
      const read = async (): Promise<void> => {
        const answer = await client.send("POST", "/v1/queries", token, { sql: SMALL_READ_SQL });
        if (answer.status !== 200) throw new Error(`the small read answered ${answer.status}`);
      };
      for (let i = 0; i < 200; i++) await read();
      await gatewayExport(client, token, gateway.pid, `${EXPORT_SQL} LIMIT 20000`, false);
      say(`profiling ${READS} sequential small reads`);
      process.kill(gateway.pid, "SIGUSR2");
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < READS; i++) await read();
      process.kill(gateway.pid, "SIGUSR2");
      summaries.push(
        summarizeProfile(
          "small masked read (100 rows)",
          await awaitFile(`${prefix}-1.cpuprofile`),
          READS,
          "request",
        ),
      );
      say(`profiling an export of ${ROWS.toLocaleString("en-US")} rows`);
      process.kill(gateway.pid, "SIGUSR2");
      await new Promise((r) => setTimeout(r, 200));
      const exported = await gatewayExport(client, token, gateway.pid, EXPORT_SQL, false);
      process.kill(gateway.pid, "SIGUSR2");
      summaries.push(
        summarizeProfile(
          `masked export (${exported.rows.toLocaleString("en-US")} rows, ${exported.rowsPerSecond.toLocaleString("en-US")} rows/s under the profiler)`,
          await awaitFile(`${prefix}-2.cpuprofile`),
          exported.rows,
          "row",
        ),
      );
    } finally {
      client.close();
      await gateway.stop();
    }
    const meta = { takenAt: new Date().toISOString(), loadAverage: loadavg(), reads: READS, rows: ROWS };
    await writeFile(join(OUT, "summary.json"), `${JSON.stringify({ ...meta, summaries }, null, 2)}\n`);
    await writeFile(join(OUT, "summary.md"), summaries.map((s) => profileMarkdown(s)).join("\n"));
    process.stdout.write(summaries.map((s) => profileMarkdown(s)).join("\n"));
    say(`wrote ${OUT} (gateway-1.cpuprofile: reads, gateway-2.cpuprofile: export; open in Chrome DevTools)`);
  } finally {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
