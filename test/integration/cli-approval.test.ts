// The CI side of approvals: `phigate query` waits on 202 with progress on stderr and ends with the result or the
// reason (3 denied, 5 expired); it refreshes GitHub Actions tokens while waiting; `phigate approve` decides.

import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adjustableClock, decide, RISKY_SMALL_SQL } from "#test/support/approvals.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exit: Promise<number>;
  /** Resolves with the first match of `pattern` in stderr. */
  stderrMatch(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

function phigate(args: string[], env: Record<string, string>): Running {
  const child = spawn("node", ["bin/phigate.mjs", ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const running: Running = {
    child,
    stdout: "",
    stderr: "",
    exit: new Promise((resolve) => child.on("close", (code) => resolve(code ?? -1))),
    async stderrMatch(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = running.stderr.match(pattern);
        if (match !== null) return match;
        if (Date.now() > deadline) throw new Error(`stderr never matched ${pattern}: ${running.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  child.stdout?.on("data", (chunk: Buffer) => {
    running.stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    running.stderr += chunk.toString("utf8");
  });
  return running;
}

describe("phigate CLI and approvals", () => {
  const clock = adjustableClock();
  let gw: TestGateway;
  let env: Record<string, string>;
  let alice: string;

  beforeAll(async () => {
    gw = await startTestGateway({ clock, consoleNotifications: () => {} });
    env = { PHIGATE_URL: gw.url };
    alice = await gw.token("alice", { groups: ["phi-approvers"] });
  });
  afterAll(async () => gw?.close());

  it("waits on 202 with plain progress lines, then prints the masked result once an approver approves", async () => {
    const token = await gw.token(NIGHTLY);
    const run = phigate(["query", "--format", "json", "--params", '["1%"]', RISKY_SMALL_SQL], {
      ...env,
      PHIGATE_TOKEN: token,
    });
    const [, approvalId] = await run.stderrMatch(
      /waiting for approval (apr_[0-9A-Z]{26}) · 0\/1 approval\(s\) · \d+:\d{2} left/,
    );
    expect(run.stderr).toMatch(/needs approval \(\d reason\(s\)\); approvers have been notified/);
    expect((await decide(gw, alice, approvalId ?? "", { decision: "approve" })).status).toBe(200);
    expect(await run.exit).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ sessionId: expect.stringMatching(/^ses_/), rowCount: 20 });
    expect(result.rows[0][1]).toBe("[REDACTED]");
    expect(run.stderr).not.toContain("\u001b[");
    expect(run.stderr).not.toMatch(/SELECT/i);
    expect(run.stderr).not.toContain(token);
  });

  it("exits 3 with the approver's reason when denied", async () => {
    const run = phigate(["query", "--params", '["2%"]', RISKY_SMALL_SQL], {
      ...env,
      PHIGATE_TOKEN: await gw.token(NIGHTLY),
    });
    const [, approvalId] = await run.stderrMatch(/waiting for approval (apr_[0-9A-Z]{26})/);
    await decide(gw, alice, approvalId ?? "", { decision: "deny", comment: "use the aggregate view" });
    expect(await run.exit).toBe(3);
    expect(run.stderr).toMatch(/approval_denied: denied by alice: use the aggregate view \(session ses_/);
    expect(run.stdout).toBe("");
  });

  it("exits 5 when the approval expires", async () => {
    const run = phigate(["query", "--params", '["3%"]', RISKY_SMALL_SQL], {
      ...env,
      PHIGATE_TOKEN: await gw.token(NIGHTLY),
    });
    await run.stderrMatch(/waiting for approval apr_/);
    clock.advance(3601);
    expect(await run.exit).toBe(5);
    expect(run.stderr).toMatch(/approval_expired: no approver decided before the request expired/);
  });

  it("re-requests GitHub Actions OIDC tokens while it waits (they live minutes)", async () => {
    const requests: (string | null)[] = [];
    const oidc: Server = createServer((req, res) => {
      requests.push(new URL(req.url ?? "/", "http://127.0.0.1").searchParams.get("audience"));
      void gw.token(NIGHTLY, { ttlSeconds: 30 }).then((value) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ value }));
      });
    });
    await new Promise<void>((resolve) => oidc.listen(0, "127.0.0.1", resolve));
    try {
      const run = phigate(["query", "--params", '["4%"]', RISKY_SMALL_SQL], {
        ...env,
        ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(oidc.address() as AddressInfo).port}/token`,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: "runner-request-token",
      });
      const [, approvalId] = await run.stderrMatch(/waiting for approval (apr_[0-9A-Z]{26})/);
      await decide(gw, alice, approvalId ?? "", { decision: "approve" });
      expect(await run.exit).toBe(0);
      expect(requests.length).toBeGreaterThanOrEqual(2);
      expect(new Set(requests)).toEqual(new Set(["phigate"]));
    } finally {
      oidc.close();
    }
  });

  it("phigate approve: the requester is refused (exit 3), an approver's decision is recorded", async () => {
    const token = await gw.token(NIGHTLY);
    const submitted = await gw.query(token, { sql: RISKY_SMALL_SQL, params: ["5%"] });
    const approvalId: string = submitted.body.approval.id;
    const self = phigate(["approve", approvalId, "--token", token], env);
    expect(await self.exit).toBe(3);
    expect(self.stderr).toMatch(/^self_approval: /);
    const ok = phigate(["approve", approvalId, "--comment", "fine", "--token", alice], env);
    expect(await ok.exit).toBe(0);
    expect(ok.stdout).toMatch(
      new RegExp(`approve recorded: ${approvalId} is approved \\(1 of 1 approval\\(s\\)\\)`),
    );
    const again = phigate(["approve", approvalId, "--deny", "--token", alice], env);
    expect(await again.exit).toBe(4);
    expect(again.stderr).toMatch(/^already_decided: /);
  });
});
