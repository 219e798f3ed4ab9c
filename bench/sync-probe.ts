// Counts the gateway's disk syncs per small read (strace on the gateway child), sequential and with 20 clients.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NIGHTLY } from "#test/support/gateway.ts";
import { startPostgresServer } from "#test/support/postgres-server.ts";
import { SMALL_READ_SQL } from "./e2e.ts";
import { BenchClient } from "./support/http-client.ts";
import { seedBenchEhr, startBenchGateway } from "./support/setup.ts";

const READS = Number(process.env.SYNC_PROBE_READS ?? 300);
const CLIENTS = Number(process.env.SYNC_PROBE_CLIENTS ?? 20);

/** What a synced file descriptor points at, from strace's `-y` annotation. */
function classify(path: string): string {
  if (/\/sessions\/journal-[^/]+\.jsonl$/.test(path)) return "journal fdatasync";
  if (/\/sessions$/.test(path)) return "journal folder fsync";
  if (/\/objects\/\.segments\/.*\.seg$/.test(path)) return "object segment fdatasync";
  if (/\/objects\/.*\.partial$/.test(path)) return "object file fdatasync";
  if (/\/objects(\/|$)/.test(path)) return "object folder fsync";
  if (/\/log\/checkpoints\/.*\.tmp$|\/log\/checkpoints\/[^/]+\.note/.test(path))
    return "checkpoint fdatasync";
  if (/\/log\/checkpoints$/.test(path)) return "checkpoint folder fsync";
  return `other ${path.replace(/.*\/gateway\//, "")}`;
}

async function reads(client: BenchClient, token: string, clients: number, total: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < total) {
        const answer = await client.send("POST", "/v1/queries", token, { sql: SMALL_READ_SQL });
        if (answer.status !== 200) throw new Error(`the gateway answered ${answer.status}`);
      }
    }),
  );
}

const root = await mkdtemp(join(tmpdir(), "phigate-sync-probe-"));
const server = await startPostgresServer({ database: "ehr" });
try {
  await seedBenchEhr(server.url, { patients: 1_000, encounters: 1_000, medications: 100 });
  const gateway = await startBenchGateway(root, server.url, 100_000);
  const client = new BenchClient(gateway.url);
  const trace = join(root, "strace.txt");
  let strace: ChildProcess | undefined;
  try {
    const token = await client.token(NIGHTLY);
    await reads(client, token, 1, 50);
    strace = spawn(
      "strace",
      ["-f", "-y", "-ttt", "-e", "trace=fdatasync,fsync", "-o", trace, "-p", String(gateway.pid)],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const attached = strace.stderr;
    if (attached === null) throw new Error("no strace stderr");
    await new Promise<void>((resolve) => attached.once("data", () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const t0 = Date.now() / 1000;
    await reads(client, token, 1, READS);
    const t1 = Date.now() / 1000;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const t2 = Date.now() / 1000;
    await reads(client, token, CLIENTS, READS);
    const t3 = Date.now() / 1000;
    strace.kill("SIGINT");
    await once(strace, "exit");
    const counts = { sequential: new Map<string, number>(), concurrent: new Map<string, number>() };
    for (const line of (await readFile(trace, "utf8")).split("\n")) {
      const match = /^\d+\s+(\d+\.\d+) (?:fdatasync|fsync)\(\d+<([^>]+)>/.exec(line);
      if (match === null) continue;
      const at = Number(match[1]);
      const phase =
        at >= t0 && at <= t1 ? counts.sequential : at >= t2 && at <= t3 ? counts.concurrent : undefined;
      if (phase === undefined) continue;
      const kind = classify(match[2] as string);
      phase.set(kind, (phase.get(kind) ?? 0) + 1);
    }
    const perRead = (m: Map<string, number>) =>
      Object.fromEntries([...m].sort().map(([k, v]) => [k, +(v / READS).toFixed(3)]));
    process.stdout.write(
      `${JSON.stringify({ reads: READS, clients: CLIENTS, sequential: perRead(counts.sequential), concurrent: perRead(counts.concurrent), sequentialSeconds: +(t1 - t0).toFixed(2), concurrentSeconds: +(t3 - t2).toFixed(2) })}\n`,
    );
  } finally {
    if (strace !== undefined && strace.exitCode === null) strace.kill("SIGINT");
    await gateway.stop();
  }
} finally {
  await server.stop();
  await rm(root, { recursive: true, force: true });
}
