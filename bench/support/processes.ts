// Starts and watches bench child processes (the gateway, the floor server) and samples RSS and CPU from /proc.

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/**
 * The node flags `npm start` runs the gateway with (package.json's `start` script, the one place they are
 * written), so the bench's gateway runs as the product does.
 */
export function startScriptNodeFlags(): string[] {
  const manifest = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: { start: string } };
  const words = manifest.scripts.start.split(/\s+/);
  if (words[0] !== "node") throw new Error("package.json's start script does not run node");
  return words.slice(1).filter((word) => word.startsWith("--"));
}

/** A running bench child (the gateway, or the floor server). */
export interface GatewayProcess {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts `bench/support/gateway-child.ts` with `env`; resolves once it printed its URL. */
export function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  return startBenchChild("bench/support/gateway-child.ts", env);
}

/**
 * Starts the bench child program `script` with `env`, under the node flags the product runs with (so the floor
 * server runs on the same runtime settings as the gateway); resolves once it printed `READY <url>`.
 */
export async function startBenchChild(script: string, env: Record<string, string>): Promise<GatewayProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...startScriptNodeFlags(),
      ...(env.BENCH_NODE_ARGS?.split(" ").filter((a) => a !== "") ?? []),
      "--import",
      "tsx",
      script,
    ],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const stdout = child.stdout;
  if (stdout === null || child.pid === undefined) throw new Error(`could not start ${script}`);
  const pid = child.pid;
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: stdout });
    lines.on("line", (line) => {
      if (line.startsWith("READY ")) resolve(line.slice("READY ".length).trim());
      else if (env.BENCH_CHILD_STDOUT === "1") process.stderr.write(`${line}\n`);
    });
    child.once("exit", (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url,
    pid,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function statusField(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match === null ? Number.NaN : Number(match[1]) * 1024;
}

/** Resident set size of a process, bytes (Linux). */
export function rssOf(pid: number): number {
  return statusField(pid, "VmRSS");
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak seen, bytes. */
export function sampleRss(pid: number, everyMs = 25): { stop(): number } {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // the process ended
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        peak = Math.max(peak, rssOf(pid));
      } catch {
        // the process ended
      }
      return peak;
    },
  };
}

/** CPU time (user + system, every thread) the process `pid` has used so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
