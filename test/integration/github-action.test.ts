// The client bundle (packages/client) and the GitHub Action's script run from it against a real local gateway, with a
// stand-in for GitHub's OIDC token endpoint on 127.0.0.1: a query to a file and the summary, a denial, the proxy.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildClient, type ClientBuild, SERVER_ONLY } from "#packages/client/build.ts";
import { RAW_SSN } from "#test/support/approvals.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import { describeWithClient } from "#test/support/pg-clients.ts";

interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: string[], env: Record<string, string>, cwd: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LANG: "C.UTF-8", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Reads a `name<<delimiter` file (GITHUB_OUTPUT, GITHUB_ENV) into a record. */
async function workflowValues(path: string): Promise<Record<string, string>> {
  const text = await readFile(path, "utf8").catch(() => "");
  const values: Record<string, string> = {};
  const pattern = /^([A-Za-z_][\w-]*)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) values[m[1] ?? ""] = m[3] ?? "";
  return values;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the GitHub Action", () => {
  let gw: TestGateway;
  let client: ClientBuild;
  let buildDir: string;
  let oidc: Server;
  const requestToken = randomBytes(16).toString("hex");
  const oidcRequests: { audience: string | null; authorized: boolean }[] = [];
  const workdirs: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway();
    buildDir = await mkdtemp(join(tmpdir(), "phigate-client-"));
    client = await buildClient(join(buildDir, "phigate.mjs"));
    oidc = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      const authorized = request.headers.authorization === `Bearer ${requestToken}`;
      oidcRequests.push({ audience: url.searchParams.get("audience"), authorized });
      if (!authorized) {
        response.writeHead(401).end();
        return;
      }
      gw.token(NIGHTLY, { claims: { repository: "acme/ehr-reports" } }).then((value) => {
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ value }));
      });
    });
    await new Promise<void>((resolve) => oidc.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => oidc?.close(resolve));
    await gw?.close();
    await rm(buildDir, { recursive: true, force: true });
    for (const dir of workdirs) await rm(dir, { recursive: true, force: true });
  });

  async function action(inputs: Record<string, string>): Promise<Finished & { dir: string }> {
    const workdir = await mkdtemp(join(tmpdir(), "phigate-action-"));
    workdirs.push(workdir);
    for (const name of ["output", "env", "summary"]) await writeFile(join(workdir, name), "");
    const env: Record<string, string> = {
      ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(oidc.address() as AddressInfo).port}/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
      GITHUB_OUTPUT: join(workdir, "output"),
      GITHUB_ENV: join(workdir, "env"),
      GITHUB_STEP_SUMMARY: join(workdir, "summary"),
      GITHUB_REPOSITORY: "acme/ehr-reports",
      GITHUB_WORKFLOW: "nightly-report",
      GITHUB_RUN_ID: "4242",
      RUNNER_TEMP: workdir,
      INPUT_URL: gw.url,
      ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k}`, v])),
    };
    return { ...(await run("node", [client.outfile, "github-action"], env, workdir)), dir: workdir };
  }

  it("is one file without server-only code, and its package installs nothing else", async () => {
    for (const name of SERVER_ONLY)
      expect(client.inputs.filter((p) => p.includes(`node_modules/${name}`))).toEqual([]);
    expect(client.inputs).toContain("cli/commands/proxy.ts");
    expect(client.inputs).toContain("shared/mcp/phigate-mcp-server.ts");
    const manifest = JSON.parse(await readFile("packages/client/package.json", "utf8"));
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.bin).toEqual({ phigate: "dist/phigate.mjs" });
  });

  it("serves MCP from the bundle (the SDK's client lists the tools and runs a masked query)", async () => {
    const mcp = new Client({ name: "bundle-test", version: "1.0.0" });
    await mcp.connect(
      new StdioClientTransport({
        command: "node",
        args: [client.outfile, "mcp"],
        env: { PATH: process.env.PATH ?? "", PHIGATE_URL: gw.url, PHIGATE_TOKEN: await gw.token(NIGHTLY) },
        stderr: "pipe",
      }),
    );
    try {
      expect((await mcp.listTools()).tools).toHaveLength(4);
      const result = await mcp.callTool({
        name: "query",
        arguments: { sql: "SELECT id, ssn FROM patients LIMIT 1" },
      });
      expect(result.structuredContent).toMatchObject({
        status: "completed",
        rows: [[expect.any(Number), "[REDACTED]"]],
      });
    } finally {
      await mcp.close();
    }
  });

  it("maps every input of action.yml to the variable the script reads", async () => {
    const definition = parse(await readFile("action.yml", "utf8"));
    const step = definition.runs.steps.find((s: { id?: string }) => s.id === "phigate");
    const expected = Object.fromEntries(
      Object.keys(definition.inputs).map((name) => [
        `INPUT_${name.toUpperCase().replace(/-/g, "_")}`,
        `\${{ inputs.${name} }}`,
      ]),
    );
    expect(step.env).toEqual(expected);
    expect(step.run).toBe('node "$GITHUB_ACTION_PATH/packages/client/dist/phigate.mjs" github-action');
  });

  it("runs a query with the job's OIDC token, writes the masked result to a file and the step summary", async () => {
    const out = await action({
      SQL: "SELECT id, ssn, dob FROM patients WHERE id BETWEEN 1 AND $1 ORDER BY id",
      PARAMS: "[3]",
    });
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(oidcRequests.at(-1)).toEqual({ audience: "phigate", authorized: true });
    const csv = await readFile(join(out.dir, "phigate-result.csv"), "utf8");
    expect(csv.split("\r\n").slice(0, 3)).toEqual(["id,ssn,dob", "1,[REDACTED],1964", "2,[REDACTED],<=1936"]);
    expect((await stat(join(out.dir, "phigate-result.csv"))).mode & 0o777).toBe(0o600);
    const outputs = await workflowValues(join(out.dir, "output"));
    expect(outputs).toMatchObject({ "row-count": "3", "result-file": join(out.dir, "phigate-result.csv") });
    const summary = await readFile(join(out.dir, "summary"), "utf8");
    expect(summary).toContain(
      `Session \`${outputs["session-id"]}\`: 3 row(s) written to \`phigate-result.csv\` (csv).`,
    );
    expect(summary).toContain("Masked: `ssn` (redact), `dob` (generalize).");
    expect(summary).toContain("| 1 | [REDACTED] | 1964 |");
    expect(`${csv}${summary}`).not.toMatch(RAW_SSN);
    const view = await gw.request("GET", `/v1/sessions/${outputs["session-id"]}`, {
      token: await gw.token(NIGHTLY),
    });
    expect(view.body.purpose).toBe("GitHub Actions: acme/ehr-reports · nightly-report · run 4242");
  });

  it("keeps values out of the summary when asked, and writes JSON", async () => {
    const out = await action({
      SQL: "SELECT id, ssn FROM patients ORDER BY id LIMIT 2",
      FORMAT: "json",
      OUTPUT: "r.json",
      SUMMARY_ROWS: "0",
    });
    expect(out.code).toBe(0);
    expect(JSON.parse(await readFile(join(out.dir, "r.json"), "utf8"))).toMatchObject({
      rowCount: 2,
      rows: [
        [1, "[REDACTED]"],
        [2, "[REDACTED]"],
      ],
    });
    expect(await readFile(join(out.dir, "summary"), "utf8")).not.toContain("[REDACTED]");
  });

  it("fails the step with an error annotation when the policy denies the statement", async () => {
    const out = await action({ SQL: "SELECT substr(ssn, 1, 3) FROM patients LIMIT 1" });
    expect(out.code).toBe(3);
    expect(out.stdout).toMatch(
      /^::error::phigate: policy_denied: protected column public\.patients\.ssn .*\(session ses_\w+\)$/m,
    );
    await expect(stat(join(out.dir, "phigate-result.csv"))).rejects.toThrow();
  });

  describeWithClient("psql", "with psql", () => {
    it("starts the proxy for the job's later steps: psql connects with the exported variables", async () => {
      const port = await freePort();
      const out = await action({ PROXY: "true", PROXY_PORT: String(port) });
      const outputs = await workflowValues(join(out.dir, "output"));
      try {
        expect(out.code).toBe(0);
        const exported = await workflowValues(join(out.dir, "env"));
        expect(exported).toMatchObject({ PGHOST: "127.0.0.1", PGPORT: String(port), PGSSLMODE: "disable" });
        expect(out.stdout).toContain(`::add-mask::${exported.PGPASSWORD}`);
        const psql = await run(
          "psql",
          ["-X", "-A", "-t", "-c", "SELECT ssn FROM patients ORDER BY id LIMIT 1"],
          exported,
          out.dir,
        );
        expect(psql.stdout.trim()).toBe("[REDACTED]");
      } finally {
        if (outputs["proxy-pid"]) process.kill(Number(outputs["proxy-pid"]), "SIGTERM");
      }
    });
  });
});
