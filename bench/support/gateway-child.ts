// The gateway under benchmark in its own process (its RSS its own): prints `READY <url>`, SIGTERM stops, SIGUSR2 toggles a CPU profile.

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
  const v8 = await import("node:v8");
  const mib = (n: number) => (n / 1048576).toFixed(0);
  setInterval(
    () => {
      const m = process.memoryUsage();
      const spaces = v8
        .getHeapSpaceStatistics()
        .map((s) => `${s.space_name.replace("_space", "")} ${mib(s.space_size)}`)
        .join(" ");
      process.stderr.write(
        `mem rss ${mib(m.rss)} heapUsed ${mib(m.heapUsed)} ab ${mib(m.arrayBuffers)} | ${spaces}\n`,
      );
    },
    Number(process.env.BENCH_MEMLOG_MS ?? 2000),
  ).unref();
}
const profileTo = process.env.BENCH_PROFILE_FILE;
if (profileTo !== undefined && profileTo !== "") {
  const { Session } = await import("node:inspector/promises");
  const { renameSync, writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  let running = false;
  let written = 0;
  process.on("SIGUSR2", () => {
    if (!running) {
      running = true;
      void session.post("Profiler.start");
      return;
    }
    running = false;
    written += 1;
    const file = `${profileTo}-${written}.cpuprofile`;
    void session.post("Profiler.stop").then(({ profile }) => {
      writeFileSync(`${file}.part`, JSON.stringify(profile));
      renameSync(`${file}.part`, file);
    });
  });
}
process.once("SIGTERM", () => {
  void host.close().then(() => process.exit(0));
});
