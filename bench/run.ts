// `npm run bench`: every figure beside its baseline from the same run, printed as a table and written to bench/results.json.

import { existsSync, readdirSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { exportPolicy } from "#test/support/export-policy.ts";
import { NIGHTLY } from "#test/support/gateway.ts";
import { type PostgresServer, startPostgresServer } from "#test/support/postgres-server.ts";
import { seedEhr } from "#tools/ehr/seed.ts";
import { benchBundles } from "./bundles.ts";
import { benchDecisions } from "./decisions.ts";
import {
  concurrency,
  directCursorRead,
  EXPORT_SQL,
  type ExportRun,
  gatewayExport,
  smallReadLatency,
} from "./e2e.ts";
import { benchLog } from "./log.ts";
import { benchMasking } from "./masking.ts";
import { benchSql } from "./sql.ts";
import { BenchClient } from "./support/http-client.ts";
import { type GatewayProcess, rssOf, startGatewayProcess } from "./support/processes.ts";
import { median, round } from "./support/stats.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const numberEnv = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? Number.NaN);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const SETTINGS = {
  exportRows: numberEnv("BENCH_EXPORT_ROWS", QUICK ? 100_000 : 1_000_000),
  exportRuns: numberEnv("BENCH_EXPORT_RUNS", QUICK ? 1 : 3),
  clients: numberEnv("BENCH_CLIENTS", 20),
  concurrencySeconds: numberEnv("BENCH_CONCURRENCY_SECONDS", QUICK ? 5 : 30),
  latencyRounds: numberEnv("BENCH_LATENCY_ROUNDS", QUICK ? 5 : 20),
  pglite: process.env.BENCH_PGLITE !== "0",
};
const RATE = { requestsPerMinute: 1_000_000, burst: 100_000 };
const MIB = 1024 * 1024;

/** One line of the printed table. */
interface Line {
  readonly figure: string;
  readonly value: string;
  readonly baseline: string;
  readonly comparison: string;
  readonly target: string;
}

const lines: Line[] = [];
const results: Record<string, unknown> = {
  settings: SETTINGS,
  startedAt: new Date().toISOString(),
  machine: { cores: cpus().length, loadAverageAtStart: loadavg() },
};
const say = (text: string): void => {
  process.stderr.write(`[bench] ${text}\n`);
};
const verdict = (met: boolean): string => (met ? "met" : "MISSED");

async function seedServer(server: PostgresServer): Promise<Record<string, unknown>> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const patients = Math.max(10_000, Math.ceil(SETTINGS.exportRows / 6));
    const seeded = await seedEhr(client, { patients, encounters: SETTINGS.exportRows, medications: 10_000 });
    await client.query("ANALYZE");
    return { ...seeded.counts, seedSeconds: round(seeded.durationMs / 1000, 1) };
  } finally {
    await client.end();
  }
}

async function serverFigures(server: PostgresServer, root: string): Promise<void> {
  const policyPath = join(root, "policy.yaml");
  await writeFile(policyPath, exportPolicy(SETTINGS.exportRows + 1, 600_000, RATE));
  await mkdir(join(root, "gateway"));
  const gateway = await startGatewayProcess({
    BENCH_DATA_DIR: join(root, "gateway"),
    BENCH_POLICY: policyPath,
    BENCH_DATABASE_URL: server.url,
  });
  const client = new BenchClient(gateway.url);
  try {
    const token = await client.token(NIGHTLY);
    const idleRss = rssOf(gateway.pid);

    say(`small masked read: ${SETTINGS.latencyRounds} × 100 sequential requests per path`);
    const small = await smallReadLatency(client, token, server.url, SETTINGS.latencyRounds);
    results.smallRead = small;
    const overheadP50 = round(small.gateway.p50 - small.direct.p50, 3);
    const overheadP99 = round(small.gateway.p99 - small.direct.p99, 3);
    results.smallReadOverhead = { p50: overheadP50, p99: overheadP99 };
    lines.push(
      {
        figure: "small masked read (100 rows) p50",
        value: `${small.gateway.p50} ms`,
        baseline: `${small.direct.p50} ms direct (${small.directTx.p50} ms in a read-only tx)`,
        comparison: `+${overheadP50} ms`,
        target: `≤ +1.5 ms: ${verdict(overheadP50 <= 1.5)}`,
      },
      {
        figure: "small masked read (100 rows) p99",
        value: `${small.gateway.p99} ms`,
        baseline: `${small.direct.p99} ms direct (${small.directTx.p99} ms in a read-only tx)`,
        comparison: `+${overheadP99} ms`,
        target: `≤ +5 ms: ${verdict(overheadP99 <= 5)}`,
      },
    );

    say(`concurrency: ${SETTINGS.clients} clients × ${SETTINGS.concurrencySeconds} s, gateway then direct`);
    const load = await concurrency(client, token, server.url, SETTINGS.clients, SETTINGS.concurrencySeconds);
    results.concurrency = load;
    lines.push({
      figure: `${SETTINGS.clients} clients × ${SETTINGS.concurrencySeconds} s`,
      value: `${load.gateway.perSecond} req/s, p50 ${load.gateway.p50} ms, p99 ${load.gateway.p99} ms${
        Object.keys(load.gateway.failures).length > 0
          ? `, failures ${JSON.stringify(load.gateway.failures)}`
          : ""
      }`,
      baseline: `${load.direct.perSecond} q/s, p99 ${load.direct.p99} ms direct (pool of ${SETTINGS.clients})`,
      comparison: `${round((load.gateway.perSecond / load.direct.perSecond) * 100, 1)} % of direct`,
      target: "(report)",
    });

    const tenth = Math.min(SETTINGS.exportRows, Math.max(50_000, Math.floor(SETTINGS.exportRows / 10)));
    say(`export of ${tenth.toLocaleString("en-US")} rows (memory at a tenth of the size)`);
    const smallExport = await gatewayExport(
      client,
      token,
      gateway.pid,
      `${EXPORT_SQL} LIMIT ${tenth}`,
      false,
    );
    say(
      `export of ${SETTINGS.exportRows.toLocaleString("en-US")} rows × ${SETTINGS.exportRuns}, alternating with direct cursor reads`,
    );
    const runs: ExportRun[] = [];
    const direct: { rowsPerSecond: number; seconds: number; rows: number }[] = [];
    for (let i = 0; i < SETTINGS.exportRuns; i++) {
      direct.push(await directCursorRead(server.url, EXPORT_SQL));
      runs.push(await gatewayExport(client, token, gateway.pid, EXPORT_SQL, i === 0));
    }
    const gatewayRate = median(runs.map((r) => r.rowsPerSecond));
    const directRate = median(direct.map((r) => r.rowsPerSecond));
    const peak = Math.max(...runs.map((r) => r.peakRssBytes));
    const ratio = round((gatewayRate / directRate) * 100, 1);
    const first = runs[0];
    results.export = {
      sql: EXPORT_SQL,
      idleRssBytes: idleRss,
      tenth: smallExport,
      runs,
      direct,
      gatewayRowsPerSecond: gatewayRate,
      directRowsPerSecond: directRate,
      ratioPct: ratio,
      peakRssBytes: peak,
    };
    lines.push(
      {
        figure: `export ${SETTINGS.exportRows.toLocaleString("en-US")} rows (streamed, masked, stored)`,
        value: `${gatewayRate.toLocaleString("en-US")} rows/s (median ${median(runs.map((r) => r.seconds))} s)`,
        baseline: `${directRate.toLocaleString("en-US")} rows/s direct cursor (median ${median(direct.map((r) => r.seconds))} s)`,
        comparison: `${ratio} % of direct`,
        target: `≥ 80 %: ${verdict(ratio >= 80)}`,
      },
      {
        figure: "gateway peak RSS during export",
        value: `${round(peak / MIB, 1)} MiB (${SETTINGS.exportRows.toLocaleString("en-US")} rows)`,
        baseline: `${round(smallExport.peakRssBytes / MIB, 1)} MiB (${tenth.toLocaleString("en-US")} rows); ${round(idleRss / MIB, 1)} MiB idle`,
        comparison: `${round((peak - smallExport.peakRssBytes) / MIB, 1)} MiB for 10× the rows`,
        target: `< 256 MiB: ${verdict(peak < 256 * MIB)}`,
      },
      {
        figure: "stored export object",
        value: `${round((first?.storedBytes ?? 0) / MIB, 1)} MiB gzip NDJSON`,
        baseline: "",
        comparison: `digest recorded = served: ${first?.digestVerified === true ? "yes" : "NO"}`,
        target: "",
      },
    );
  } finally {
    client.close();
    await gateway.stop();
  }
}

function pgliteTemplate(): string | undefined {
  const cache = resolve("node_modules/.cache/phigate-test");
  if (!existsSync(cache)) return undefined;
  const found = readdirSync(cache).filter((name) => /^pgdata-[0-9a-f]+$/.test(name));
  return found.length === 0 ? undefined : join(cache, found[0] ?? "");
}

async function pgliteFigures(root: string): Promise<void> {
  const dataDir = join(root, "pglite");
  await mkdir(dataDir);
  const template = pgliteTemplate();
  if (template !== undefined) await cp(template, join(dataDir, "pgdata"), { recursive: true });
  say(
    `embedded PGlite gateway (${template === undefined ? "seeding the demo EHR first" : "test template copy"})`,
  );
  const policyPath = join(root, "policy-pglite.yaml");
  await writeFile(policyPath, exportPolicy(1_000_000, 600_000, RATE));
  let gateway: GatewayProcess | undefined;
  const client = { current: undefined as BenchClient | undefined };
  try {
    gateway = await startGatewayProcess({ BENCH_DATA_DIR: dataDir, BENCH_POLICY: policyPath });
    const http = new BenchClient(gateway.url);
    client.current = http;
    const token = await http.token(NIGHTLY);
    const samples: number[] = [];
    for (let i = 0; i < 100 + 500; i++) {
      const started = performance.now();
      const answer = await http.send("POST", "/v1/queries", token, {
        sql: "SELECT id, mrn, ssn, first_name, last_name, dob, sex, zip, phone, email, city FROM patients WHERE id BETWEEN 1 AND 100",
      });
      if (answer.status !== 200) throw new Error(`PGlite small read answered ${answer.status}`);
      if (i >= 100) samples.push(performance.now() - started);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const p50 = round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN, 3);
    const p99 = round(sorted[Math.ceil(sorted.length * 0.99) - 1] ?? Number.NaN, 3);
    const exported = await gatewayExport(http, token, gateway.pid, EXPORT_SQL, true);
    results.pglite = { smallRead: { p50, p99, samples: samples.length }, export: exported };
    lines.push(
      {
        figure: "PGlite: small masked read p50 / p99",
        value: `${p50} / ${p99} ms`,
        baseline: "",
        comparison: "",
        target: "(report)",
      },
      {
        figure: `PGlite: export ${exported.rows.toLocaleString("en-US")} rows`,
        value: `${exported.rowsPerSecond.toLocaleString("en-US")} rows/s, peak RSS ${round(exported.peakRssBytes / MIB, 1)} MiB`,
        baseline: "",
        comparison: `digest recorded = served: ${exported.digestVerified ? "yes" : "NO"}`,
        target: "(report; PGlite's WASM heap dominates RSS)",
      },
    );
  } finally {
    client.current?.close();
    await gateway?.stop();
  }
}

async function componentFigures(): Promise<void> {
  say("parse/classify, masking, bundles");
  const sql = await benchSql();
  results.sql = sql;
  lines.push({
    figure: `parse + classify (report query, ${sql.queryChars} chars)`,
    value: `${sql.parseClassifyPerSec.toLocaleString("en-US")} /s`,
    baseline: `${sql.rawParsePerSec.toLocaleString("en-US")} /s raw parse`,
    comparison: `+${sql.overheadPct} % over a parse`,
    target: "(report)",
  });
  const masking = await benchMasking();
  results.masking = masking;
  lines.push({
    figure: `masking (${masking.rows.toLocaleString("en-US")} × ${masking.columns})`,
    value: `${(masking.cellsPerSec / 1e6).toFixed(2)} M cells/s`,
    baseline: `${(masking.baselineCellsPerSec / 1e6).toFixed(2)} M cells/s passthrough`,
    comparison: `${round((masking.cellsPerSec / masking.baselineCellsPerSec) * 100, 1)} % of passthrough`,
    target: "(report)",
  });
  const decisions = await benchDecisions();
  results.decisions = decisions;
  lines.push({
    figure: "decision (report query, demo policy)",
    value: `${Math.round(decisions.cachedPerSec).toLocaleString("en-US")} /s from the cache`,
    baseline: `${Math.round(decisions.uncachedPerSec).toLocaleString("en-US")} /s decided afresh`,
    comparison: `${round(decisions.ratio, 1)}×`,
    target: "(report)",
  });
  const log = await benchLog();
  results.log = log;
  lines.push({
    figure: `record appends (${log.writers} writers, local journal)`,
    value: `${Math.round(log.after.median).toLocaleString("en-US")} /s with the log (${Math.round(log.after.min)}–${Math.round(log.after.max)})`,
    baseline: `${Math.round(log.before.median).toLocaleString("en-US")} /s journal only (${Math.round(log.before.min)}–${Math.round(log.before.max)})`,
    comparison: `max merge delay ${Math.round(log.maxMergeDelayMs)} ms (${log.checkpoints} checkpoints)`,
    target: "merge delay ≤ 1,000 ms",
  });
  const bundles = await benchBundles();
  results.bundles = bundles;
  for (const b of bundles) {
    lines.push({
      figure: `bundle ${b.route}`,
      value: `${round(b.bundleBytes / 1024, 0)} KiB${b.wasmBytes > 0 ? ` + ${round(b.wasmBytes / 1024, 0)} KiB WASM` : ""}`,
      baseline: "",
      comparison: `cold load ${b.coldLoadMs} ms (median of 5)`,
      target: "(report)",
    });
  }
}

function printTable(): void {
  const headers: Line = {
    figure: "figure",
    value: "gateway / measured",
    baseline: "baseline (same run)",
    comparison: "comparison",
    target: "target",
  };
  const keys = Object.keys(headers) as (keyof Line)[];
  const widths = keys.map((k) => Math.max(headers[k].length, ...lines.map((l) => l[k].length)));
  const row = (l: Line): string =>
    keys
      .map((k, i) => l[k].padEnd(widths[i] ?? 0))
      .join(" │ ")
      .trimEnd();
  process.stdout.write(
    `${[row(headers), widths.map((w) => "─".repeat(w)).join("─┼─"), ...lines.map(row)].join("\n")}\n`,
  );
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "phigate-bench-"));
  let server: PostgresServer | undefined;
  try {
    say(`settings ${JSON.stringify(SETTINGS)}`);
    server = await startPostgresServer({ database: "ehr" });
    say(`seeding ${SETTINGS.exportRows.toLocaleString("en-US")} encounters into PostgreSQL`);
    results.dataset = await seedServer(server);
    say(`seeded ${JSON.stringify(results.dataset)}`);
    await serverFigures(server, root);
    await server.stop();
    server = undefined;
    if (SETTINGS.pglite) await pgliteFigures(root);
    await componentFigures();
  } finally {
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  }
  results.finishedAt = new Date().toISOString();
  results.loadAverageAtEnd = loadavg();
  printTable();
  const load = (l: number[]): string => l.map((v) => v.toFixed(1)).join(" / ");
  process.stdout.write(
    `${cpus().length} cores; load average (1/5/15 min) ${load((results.machine as { loadAverageAtStart: number[] }).loadAverageAtStart)} at start, ${load(loadavg())} at end — other work on the machine inflates absolute latencies; compare each figure with its baseline.\n`,
  );
  await writeFile(resolve("bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  say("wrote bench/results.json");
}

await main();
