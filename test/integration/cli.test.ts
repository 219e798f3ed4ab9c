// The phigate CLI against a real local gateway: token, query in every format, exit statuses, GitHub Actions OIDC.

import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

const run = promisify(execFile);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function phigate(args: string[], env: Record<string, string>): Promise<CliRun> {
  try {
    const { stdout, stderr } = await run("node", ["bin/phigate.mjs", ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("phigate CLI", () => {
  let gw: TestGateway;
  let env: Record<string, string>;

  beforeAll(async () => {
    gw = await startTestGateway();
    env = { PHIGATE_URL: gw.url };
  });
  afterAll(async () => gw?.close());

  it("mints a dev token and runs a query as a table, with the summary on stderr", async () => {
    const token = await phigate(["token", "--sub", NIGHTLY], env);
    expect(token.code).toBe(0);
    const jwt = token.stdout.trim();
    expect(jwt.split(".")).toHaveLength(3);
    const table = await phigate(["query", "SELECT id, department FROM encounters ORDER BY id LIMIT 3"], {
      ...env,
      PHIGATE_TOKEN: jwt,
    });
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^id\s+│ department/);
    expect(table.stderr).toMatch(
      /3 row\(s\), 0 masked column\(s\), 1 scanned by the detectors · session ses_/,
    );
  });

  it("prints JSON, CSV and NDJSON", async () => {
    const token = await gw.token(NIGHTLY);
    const sql = "SELECT id, ssn FROM patients ORDER BY id LIMIT 2";
    const json = await phigate(["query", "--format", "json", "--token", token, sql], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: "completed", rowCount: 2 });
    const csv = await phigate(["query", "--format", "csv", "--token", token, sql], env);
    expect(csv.stdout.split("\r\n")[0]).toBe("id,ssn");
    expect(csv.stdout).toContain("\r\n1,[REDACTED]");
    const ndjson = await phigate(["query", "--format", "ndjson", "--token", token, sql], env);
    const first = JSON.parse(ndjson.stdout.split("\n")[0] ?? "");
    expect(first).toMatchObject({ id: 1, ssn: "[REDACTED]" });
  });

  it("exits 3 with the error's code and message on stderr when denied, 4 on other errors, 2 on usage", async () => {
    const stranger = await gw.token("stranger");
    const denied = await phigate(["query", "--token", stranger, "SELECT 1"], env);
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/^policy_denied: .+\(session ses_/);
    // A caller no principal matches is refused before parsing; a known one learns its SQL is invalid.
    const invalid = await phigate(["query", "--token", await gw.token(NIGHTLY), "SELECT FROM WHERE"], env);
    expect(invalid.code).toBe(4);
    expect(invalid.stderr).toMatch(/^invalid_sql: /);
    const usage = await phigate(["query"], env);
    expect(usage.code).toBe(2);
    const noToken = await phigate(["query", "SELECT 1"], env);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/no_token/);
  });

  it("uses GitHub Actions' OIDC token request with the audience when no token is given", async () => {
    const requests: { audience: string | null; auth: string | undefined }[] = [];
    const token = await gw.token(NIGHTLY);
    const oidc: Server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      requests.push({ audience: url.searchParams.get("audience"), auth: req.headers.authorization });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ value: token }));
    });
    await new Promise<void>((resolve) => oidc.listen(0, "127.0.0.1", resolve));
    const port = (oidc.address() as AddressInfo).port;
    try {
      const result = await phigate(["query", "--format", "json", "SELECT id FROM encounters LIMIT 1"], {
        ...env,
        ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/token?api-version=2.0`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: "runner-request-token",
      });
      expect(result.code).toBe(0);
      expect(requests).toEqual([{ audience: "phigate", auth: "Bearer runner-request-token" }]);
    } finally {
      oidc.close();
    }
  });

  it("checks and tests policies offline", async () => {
    const check = await phigate(["policy", "check", "policy/demo.yaml"], {});
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/valid \(policy demo, sha256 [0-9a-f]{64}\)/);
    const claims = JSON.stringify({ iss: "https://token.actions.githubusercontent.com", sub: NIGHTLY });
    const allowed = await phigate(
      [
        "policy",
        "test",
        "policy/demo.yaml",
        "--claims",
        claims,
        "--sql",
        "SELECT id, department FROM encounters LIMIT 5",
        "--expect",
        "allow",
      ],
      {},
    );
    expect(allowed.code).toBe(0);
    const mismatch = await phigate(
      [
        "policy",
        "test",
        "policy/demo.yaml",
        "--claims",
        claims,
        "--sql",
        "SELECT ssn FROM patients",
        "--expect",
        "allow",
      ],
      {},
    );
    expect(mismatch.code).toBe(1);
    expect(JSON.parse(mismatch.stdout).decision).toBe("require_approval");
  });
});
