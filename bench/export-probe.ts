// A focused A/B probe of the masked export (issue 18): rows/s against a direct cursor read and the gateway's peak RSS, variants alternating.

import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { NIGHTLY } from "#test/support/gateway.ts";
import { startPostgresServer } from "#test/support/postgres-server.ts";
import { concurrency, directCursorRead, EXPORT_SQL, gatewayExport } from "./e2e.ts";
import { BenchClient } from "./support/http-client.ts";
import { cpuMs, rssOf, startGatewayProcess } from "./support/processes.ts";
import { seedBenchEhr, writeBenchPolicy } from "./support/setup.ts";
import { spread } from "./support/stats.ts";

/**
 * A variant: `name=dir` (the gateway's code from another checkout, e.g. a copy of main), with optional
 * `|NODE_ARGS` and `|KEY=VALUE` environment parts: `base=/tmp/base`, `semi=.|--max-semi-space-size=4`.
 */
interface Variant {
  readonly name: string;
  readonly dir: string;
  readonly env: Record<string, string>;
}

function parseVariants(text: string): Variant[] {
  return text.split(",").map((spec) => {
    const [head = "", ...parts] = spec.split("|");
    const [name = "", dir = "."] = head.split("=");
    const env: Record<string, string> = {};
    for (const part of parts) {
      if (part.startsWith("--")) env.BENCH_NODE_ARGS = `${env.BENCH_NODE_ARGS ?? ""} ${part}`.trim();
      else {
        const at = part.indexOf("=");
        env[part.slice(0, at)] = part.slice(at + 1);
      }
    }
    return { name, dir: resolve(dir), env };
  });
}

const VARIANTS = parseVariants(process.env.PROBE_VARIANTS ?? "current=.");
const RUNS = Number(process.env.PROBE_RUNS ?? 3);
const ROWS = Number(process.env.PROBE_ROWS ?? 100_000);
const MODE = process.env.PROBE_MODE ?? "server";
/** Exports per gateway process; only the last is sampled (the earlier ones warm it up, as the bench's tenth does). */
const PER_PROCESS = Math.max(1, Number(process.env.PROBE_PER_PROCESS ?? 1));
/** Seconds of 20-client small-read load on each gateway before its exports (as the bench runs them), 0 for none. */
const LOAD_SECONDS = Number(process.env.PROBE_LOAD_SECONDS ?? 0);
/** The statement exported (default the bench's export); e.g. one of very wide rows, to see what a page holds. */
const SQL = process.env.PROBE_SQL ?? EXPORT_SQL;

/** Resident kB by kind of mapping (file-backed, the brk heap, anonymous), from /proc/<pid>/smaps. */
function smapsSummary(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) {
      const name = head[1] ?? "";
      kind = name === "" ? "anon" : name.startsWith("/") ? "file" : name;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) out[kind] = (out[kind] ?? 0) + Number(rss[1]);
  }
  for (const key of Object.keys(out)) out[key] = Math.round((out[key] ?? 0) / 1024);
  return out;
}

interface Sample {
  readonly variant: string;
  readonly idleMiB: number;
  readonly peakMiB: number;
  readonly rowsPerSecond: number;
  readonly percentOfDirect: number | null;
  readonly cpuUsPerRow: number;
  readonly sha256: string;
}

const samples: Sample[] = [];
const root = await mkdtemp(join(tmpdir(), "phigate-export-probe-"));
const server = MODE === "server" ? await startPostgresServer({ database: "ehr" }) : undefined;
try {
  if (server !== undefined) {
    await seedBenchEhr(server.url, {
      patients: Math.max(10_000, Math.ceil(ROWS / 6)),
      encounters: ROWS,
      medications: 1_000,
    });
  }
  const policyPath = join(root, "policy.yaml");
  await writeBenchPolicy(policyPath, 1_000_000);
  const cache = resolve("node_modules/.cache/phigate-test");
  const template = existsSync(cache)
    ? readdirSync(cache).find((name) => /^pgdata-[0-9a-f]+$/.test(name))
    : undefined;
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const variant of order) {
      const dataDir = join(root, `gateway-${variant.name}-${run}`);
      await mkdir(dataDir);
      if (server === undefined) {
        if (template === undefined) throw new Error("no PGlite test template (run a PGlite test first)");
        cpSync(join(cache, template), join(dataDir, "pgdata"), { recursive: true });
      }
      const cwd = process.cwd();
      process.chdir(variant.dir);
      const gateway = await startGatewayProcess({
        BENCH_DATA_DIR: dataDir,
        BENCH_POLICY: policyPath,
        ...(server === undefined ? {} : { BENCH_DATABASE_URL: server.url }),
        ...variant.env,
      }).finally(() => process.chdir(cwd));
      const client = new BenchClient(gateway.url);
      try {
        const token = await client.token(NIGHTLY);
        if (LOAD_SECONDS > 0 && server !== undefined)
          await concurrency(client, token, server.url, 20, LOAD_SECONDS);
        for (let warm = 1; warm < PER_PROCESS; warm++) {
          const early = await gatewayExport(client, token, gateway.pid, SQL, false);
          process.stdout.write(
            `  warm-up export: peak ${(early.peakRssBytes / 1048576).toFixed(1)} MiB, after ${(rssOf(gateway.pid) / 1048576).toFixed(1)} MiB\n`,
          );
        }
        const idle = rssOf(gateway.pid);
        if (process.env.PROBE_SMAPS === "1")
          process.stdout.write(`smaps MiB idle: ${JSON.stringify(smapsSummary(gateway.pid))}\n`);
        const direct = server === undefined ? undefined : await directCursorRead(server.url, SQL);
        const cpu0 = cpuMs(gateway.pid);
        const result = await gatewayExport(client, token, gateway.pid, SQL, false);
        const cpu = cpuMs(gateway.pid) - cpu0;
        if (process.env.PROBE_SMAPS === "1")
          process.stdout.write(`smaps MiB after: ${JSON.stringify(smapsSummary(gateway.pid))}\n`);
        const sample: Sample = {
          variant: variant.name,
          idleMiB: +(idle / 1048576).toFixed(1),
          peakMiB: +(result.peakRssBytes / 1048576).toFixed(1),
          rowsPerSecond: result.rowsPerSecond,
          percentOfDirect:
            direct === undefined ? null : +((result.rowsPerSecond / direct.rowsPerSecond) * 100).toFixed(1),
          cpuUsPerRow: +((cpu * 1000) / result.rows).toFixed(2),
          sha256: result.sha256,
        };
        samples.push(sample);
        process.stdout.write(`${JSON.stringify(sample)}\n`);
      } finally {
        client.close();
        await gateway.stop();
      }
    }
  }
  for (const variant of VARIANTS) {
    const mine = samples.filter((s) => s.variant === variant.name);
    const show = (pick: (s: Sample) => number | null): string => {
      const values = mine.map(pick).filter((v): v is number => v !== null);
      if (values.length === 0) return "-";
      const s = spread(values);
      return `${s.median} (${s.min}–${s.max})`;
    };
    process.stdout.write(
      `${variant.name}: peak ${show((s) => s.peakMiB)} MiB, idle ${show((s) => s.idleMiB)} MiB, ${show((s) => s.rowsPerSecond)} rows/s, ${show((s) => s.percentOfDirect)} % of direct, ${show((s) => s.cpuUsPerRow)} µs CPU/row, digests ${new Set(mine.map((s) => s.sha256)).size}\n`,
    );
  }
} finally {
  await server?.stop();
  await rm(root, { recursive: true, force: true });
}
