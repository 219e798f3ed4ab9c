// The gateway under benchmark, in its own process so its RSS is its own: prints `READY <url>`, stops on SIGTERM.

import { startLocalHost } from "#infra/local/compose.ts";
import { createJsonLogger } from "#shared/log.ts";

const dataDir = process.env.BENCH_DATA_DIR;
const policyPath = process.env.BENCH_POLICY;
if (dataDir === undefined || policyPath === undefined) {
  process.stderr.write("gateway-child: BENCH_DATA_DIR and BENCH_POLICY are required\n");
  process.exit(2);
}
const logger = createJsonLogger({
  service: "phigate-bench",
  level: "warn",
  write: (line) => process.stderr.write(`${line}\n`),
});
const host = await startLocalHost(
  {
    host: "127.0.0.1",
    port: 0,
    dataDir,
    databaseUrl: process.env.BENCH_DATABASE_URL || undefined,
    policyPath,
    mode: "development",
    issuers: [],
    audience: "phigate",
    logLevel: "warn",
    publicUrl: undefined,
  },
  logger,
);
process.stdout.write(`READY ${host.url}\n`);
if (process.env.BENCH_MEMLOG === "1") {
  setInterval(() => {
    const m = process.memoryUsage();
    const mib = (n: number) => (n / 1048576).toFixed(0);
    process.stderr.write(
      `mem rss ${mib(m.rss)} heapUsed ${mib(m.heapUsed)} heapTotal ${mib(m.heapTotal)} external ${mib(m.external)} ab ${mib(m.arrayBuffers)}\n`,
    );
  }, 2000).unref();
}
process.once("SIGTERM", () => {
  void host.close().then(() => process.exit(0));
});
