// A focused probe of the small read's request path (issue 18): latency vs direct, 20 clients, and the gateway's CPU per request.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NIGHTLY } from "#test/support/gateway.ts";
import { startPostgresServer } from "#test/support/postgres-server.ts";
import { concurrency, smallReadLatency } from "./e2e.ts";
import { BenchClient } from "./support/http-client.ts";
import { cpuMs } from "./support/processes.ts";
import { seedBenchEhr, startBenchGateway } from "./support/setup.ts";

const ROUNDS = Number(process.env.PROBE_ROUNDS ?? 5);
const SECONDS = Number(process.env.PROBE_SECONDS ?? 5);
const PROFILE_DIR = process.env.PROBE_CPU_PROF_DIR;

const root = await mkdtemp(join(tmpdir(), "phigate-probe-"));
const server = await startPostgresServer({ database: "ehr" });
try {
  await seedBenchEhr(server.url, { patients: 10_000, encounters: 10_000, medications: 1_000 });
  const gateway = await startBenchGateway(
    root,
    server.url,
    100_000,
    PROFILE_DIR === undefined ? {} : { BENCH_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}` },
  );
  const client = new BenchClient(gateway.url);
  try {
    const token = await client.token(NIGHTLY);
    const small = await smallReadLatency(client, token, server.url, ROUNDS);
    const cpu0 = cpuMs(gateway.pid);
    const [load] = await concurrency(client, token, server.url, 20, SECONDS);
    if (load === undefined) throw new Error("the load run produced no figures");
    const cpu1 = cpuMs(gateway.pid);
    const requests = load.gateway.perSecond * SECONDS;
    process.stdout.write(
      `${JSON.stringify({
        p50: small.gateway.p50,
        p99: small.gateway.p99,
        directP50: small.direct.p50,
        directP99: small.direct.p99,
        overheadP50: +(small.gateway.p50 - small.direct.p50).toFixed(3),
        overheadP99: +(small.gateway.p99 - small.direct.p99).toFixed(3),
        gatewayPerSecond: load.gateway.perSecond,
        directPerSecond: load.direct.perSecond,
        percentOfDirect: +((load.gateway.perSecond / load.direct.perSecond) * 100).toFixed(1),
        gatewayCpuMsPerRequest: +((cpu1 - cpu0) / requests).toFixed(3),
      })}\n`,
    );
  } finally {
    await gateway.stop();
  }
} finally {
  await server.stop();
  await rm(root, { recursive: true, force: true });
}
