// The Action's `proxy: true`: starts `phigate proxy` in the background for the rest of the job and exports PG* variables.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { command, exportEnv, setOutputs, type WorkflowFiles } from "#cli/github-action/workflow-files.ts";

/** How to start the background proxy. */
export interface BackgroundProxy {
  readonly url: string;
  readonly audience: string;
  readonly port: number;
  readonly purpose?: string;
  /** Where the proxy's own lines go (the runner's temporary directory). */
  readonly logFile: string;
  /** Longest wait for it to listen. */
  readonly startupMs?: number;
}

async function listening(port: number): Promise<boolean> {
  const socket = connect(port, "127.0.0.1");
  try {
    await Promise.race([once(socket, "connect"), once(socket, "error").then(() => Promise.reject())]);
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

/**
 * Starts this same program's `proxy` command detached (the runner ends it with the job), with a fresh password that
 * is masked in the logs; waits until it listens; exports `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`,
 * `PGSSLMODE` and `PHIGATE_PROXY_URL` to the job's later steps and sets the `proxy-port` and `proxy-pid` outputs.
 */
export async function startBackgroundProxy(
  options: BackgroundProxy,
  files: WorkflowFiles,
  log: (text: string) => void,
): Promise<number> {
  const password = randomBytes(18).toString("base64url");
  log(command("add-mask", password));
  const out = openSync(options.logFile, "a", 0o600);
  const script = process.argv[1] ?? "";
  const child = spawn(
    process.execPath,
    [
      script,
      "proxy",
      "--port",
      String(options.port),
      "--url",
      options.url,
      "--audience",
      options.audience,
      ...(options.purpose === undefined ? [] : ["--purpose", options.purpose]),
    ],
    {
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, PHIGATE_PROXY_PASSWORD: password },
    },
  );
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  child.unref();
  const deadline = Date.now() + (options.startupMs ?? 30_000);
  while (!(await listening(options.port))) {
    if (exited || Date.now() > deadline) {
      const lines = (await readFile(options.logFile, "utf8").catch(() => "")).trim().split("\n").slice(-3);
      if (!exited) child.kill();
      throw new Error(`the proxy did not start on port ${options.port}: ${lines.join(" / ")}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const port = String(options.port);
  await exportEnv(files, {
    PGHOST: "127.0.0.1",
    PGPORT: port,
    PGUSER: "phigate",
    PGPASSWORD: password,
    PGDATABASE: "phigate",
    PGSSLMODE: "disable",
    PHIGATE_PROXY_URL: `postgresql://phigate:${password}@127.0.0.1:${port}/phigate?sslmode=disable`,
  });
  await setOutputs(files, { "proxy-port": port, "proxy-pid": String(child.pid ?? "") });
  log(`phigate: proxy listening on 127.0.0.1:${port} for the rest of the job (PG* variables exported)\n`);
  return child.pid ?? 0;
}
