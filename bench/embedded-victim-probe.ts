// A focused probe of the embedded executor's turns (issue 18): one caller's latency while another loops failing statements.
//
// `npx tsx bench/embedded-victim-probe.ts` runs two loops of PROBE_ATTACK (default `'1e400'::json`, refused on the
// main thread) as one caller beside a third loop of `SELECT 1 + 1` as another, for PROBE_SECONDS (default 20), on a
// fresh PGlite data folder, and prints the victim's latencies and how the failed statements were drained.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PgliteExecutor } from "#infra/local/adapters/pglite-executor.ts";
import { createJsonLogger } from "#shared/log.ts";

const ATTACK = process.env.PROBE_ATTACK ?? "SELECT '1e400'::json";
const SECONDS = Number(process.env.PROBE_SECONDS ?? 20);

const drains: number[] = [];
let restarts = 0;
const logger = createJsonLogger({
  service: "embedded-victim-probe",
  level: "debug",
  write: (line) => {
    const entry = JSON.parse(line) as { level: string; message: string; drainMs?: number };
    if (entry.message === "a failed statement ended on the worker" && entry.drainMs !== undefined)
      drains.push(entry.drainMs);
    if (entry.level === "warn") restarts++;
  },
});

const dir = await mkdtemp(join(tmpdir(), "phigate-victim-probe-"));
const executor = await PgliteExecutor.start({ dataDir: join(dir, "pgdata"), logger });
const sink = { columns: () => undefined, rows: () => undefined };
const run = (sql: string, caller: string) =>
  executor.execute({ sql, params: [], timeoutMs: 10_000, maxRows: 1_000, pageSize: 100, caller }, sink);
const end = performance.now() + SECONDS * 1_000;
let attacks = 0;
const attacker = async (): Promise<void> => {
  while (performance.now() < end) {
    await run(ATTACK, "attacker").catch(() => undefined);
    attacks++;
  }
};
const victim: number[] = [];
const victimLoop = async (): Promise<void> => {
  while (performance.now() < end) {
    const started = performance.now();
    await run("SELECT 1 + 1", "victim");
    victim.push(performance.now() - started);
  }
};
try {
  await Promise.all([attacker(), attacker(), victimLoop()]);
} finally {
  await executor.close();
  await rm(dir, { recursive: true, force: true });
}
const at = (values: number[], q: number): number =>
  Math.round(
    ([...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ??
      Number.NaN) * 10,
  ) / 10;
process.stdout.write(
  `${JSON.stringify({
    attack: ATTACK,
    attacks,
    victimRequests: victim.length,
    victimP50Ms: at(victim, 0.5),
    victimP90Ms: at(victim, 0.9),
    victimMaxMs: at(victim, 1),
    drained: drains.length,
    drainP50Ms: at(drains, 0.5),
    drainMaxMs: at(drains, 1),
    restarts,
  })}\n`,
);
