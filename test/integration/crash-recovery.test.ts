// kill -9 under load (issue 9): the gateway runs as its own process (npm start's entry), clients hammer it, it is
// killed with SIGKILL, restarted on the same DATA_DIR — every answer any client received has its complete record,
// nothing is half-written, the chain verifies, and a pending approval still completes. And a plain stop (SIGTERM)
// under load finishes what is in flight: nothing is left running or failed for a later start to repair. Entries
// accepted but not yet checkpointed when the process died are integrated at the restart (issue 16).

import { type ChildProcess, spawn } from "node:child_process";
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { once } from "node:events";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { FileObjectStore } from "#infra/local/adapters/file-object-store.ts";
import { FileSessionStore } from "#infra/local/adapters/file-session-store.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { keyFingerprint } from "#shared/crypto/signature.ts";
import { verifySessionProof } from "#shared/log/verify-session-proof.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { isSessionEntry, verifyChain } from "#shared/sessions/chain.ts";
import { NIGHTLY } from "#test/support/gateway.ts";
import {
  EXPECTED_STATUS,
  mixedRequest,
  type Received,
  sessionIdOf,
  withHighRateLimits,
} from "#test/support/load.ts";
import { freePort } from "#test/support/postgres-server.ts";

/** Resolves when the process has exited (immediately if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function startProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn("node", ["bin/start.mjs"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`gateway did not start: ${output.slice(-500)}`)),
      120_000,
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("phigate is serving")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}: ${output.slice(-500)}`));
    });
  });
  return child;
}

async function call(url: string, init: { method: string; token?: string; body?: unknown }) {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, {
    method: init.method,
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** A DATA_DIR holding a copy of the seeded database and the demo policy with high rate limits; how to start on it. */
async function prepareDataDir(prefix: string, logLevel: string) {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  await cp(inject("pgdataTemplate"), join(dataDir, "pgdata"), { recursive: true });
  const policy = join(dataDir, "policy.yaml");
  await writeFile(policy, withHighRateLimits(await readFile("policy/demo.yaml", "utf8")));
  const port = await freePort();
  const env = {
    DATA_DIR: dataDir,
    PORT: String(port),
    PHIGATE_POLICY: policy,
    PHIGATE_LOG_LEVEL: logLevel,
    // The longest batch: a kill under load most likely lands between acceptance and integration.
    PHIGATE_LOG_BATCH_MS: "1000",
  };
  return { dataDir, url: `http://127.0.0.1:${port}`, env };
}

/** The journal's entries, read directly: no start, so no repair of sessions a stop interrupted. */
async function journalEntries(dataDir: string): Promise<ChainEntry[]> {
  const store = await FileSessionStore.open({ directory: join(dataDir, "sessions") });
  const entries: ChainEntry[] = [];
  for await (const entry of store.entries("0000-00-00", "9999-12-31")) entries.push(entry);
  await store.close();
  return entries;
}

describe("kill -9 under load, then restart", () => {
  let dataDir: string | undefined;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    child?.kill("SIGKILL");
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it("loses no answered record, leaves nothing half-written, keeps the chain, and resumes pending approvals", async () => {
    const prepared = await prepareDataDir("phigate-crash-", "warn");
    dataDir = prepared.dataDir;
    const { url, env } = prepared;
    child = await startProcess(env);

    const mint = async (sub: string, groups?: string[]) =>
      (
        await call(`${url}/dev-idp/token`, {
          method: "POST",
          body: { sub, ...(groups === undefined ? {} : { groups }) },
        })
      ).body?.access_token as string;
    const nightly = await mint(NIGHTLY);
    const pending = await call(`${url}/v1/queries`, {
      method: "POST",
      token: nightly,
      body: mixedRequest(9).body,
    });
    expect(pending.status).toBe(202);
    const pendingApproval = String((pending.body?.approval as { id?: string } | undefined)?.id);

    const received: Received[] = [];
    let stop = false;
    let failedInFlight = 0;
    const clients = Array.from({ length: 20 }, async (_, client) => {
      for (let j = 0; !stop; j++) {
        const { kind, body } = mixedRequest(client * 100_000 + j);
        const t0 = performance.now();
        try {
          const answer = await call(`${url}/v1/queries`, { method: "POST", token: nightly, body });
          received.push({
            kind,
            status: answer.status,
            sessionId: sessionIdOf(answer.body),
            ms: performance.now() - t0,
          });
        } catch {
          failedInFlight++;
          return;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 4_000));
    child.kill("SIGKILL");
    stop = true;
    await Promise.all(clients);
    await exited(child);
    console.info(
      `crash: ${received.length} answers received before kill -9, ${failedInFlight} requests cut off in flight`,
    );
    expect(received.length).toBeGreaterThan(20);
    expect(received.filter((r) => r.status !== EXPECTED_STATUS[r.kind])).toEqual([]);

    const checkpointed = Math.max(
      0,
      ...(await readdir(join(dataDir, "log", "checkpoints"))).map((n) => Number(n.slice(0, 16)) || 0),
    );
    const atKill = await journalEntries(dataDir);
    const durable = atKill.length;
    expect(checkpointed).toBeLessThanOrEqual(durable);
    console.info(`crash: ${durable - checkpointed} durable entries were not yet checkpointed at kill -9`);
    // Every completed record, answered or not, points at a whole result object, read before any restart repairs.
    const objects = new FileObjectStore({
      directory: join(dataDir, "objects"),
      linkKey: randomBytes(32),
      baseUrl: () => "http://127.0.0.1",
    });
    const unbacked: string[] = [];
    let completed = 0;
    for (const entry of atKill) {
      if (!isSessionEntry(entry) || entry.record.result === null) continue;
      completed++;
      const bytes = await objects.get(entry.record.result.object.key);
      if (bytes === undefined || sha256Hex(bytes) !== entry.record.result.object.sha256)
        unbacked.push(entry.record.sessionId);
    }
    await objects.close();
    expect(completed).toBeGreaterThan(0);
    expect(unbacked).toEqual([]);

    child = await startProcess(env);
    const wanted = { allowed: "completed", denied: "rejected", approval: "pending_approval" } as const;
    let missing = 0;
    for (const r of received) {
      const session = await call(`${url}/v1/sessions/${r.sessionId}`, { method: "GET", token: nightly });
      if (session.status !== 200 || session.body?.status !== wanted[r.kind]) missing++;
      if (r.kind === "allowed") expect(session.body?.result).toMatchObject({ rowCount: 1 });
    }
    expect(missing).toBe(0);

    const privatePem = await readFile(join(dataDir, "keys", "evidence-signing.pem"), "utf8");
    const fingerprint = keyFingerprint(createPublicKey(createPrivateKey(privatePem)));
    const carol = await mint("carol", ["auditors"]);
    const unproven: string[] = [];
    for (const r of received) {
      const proof = await call(`${url}/v1/sessions/${r.sessionId}/proof`, { method: "GET", token: carol });
      const v = verifySessionProof(proof.body, fingerprint);
      if (proof.status !== 200 || !v.ok || (v.checkpoint?.size ?? 0) < checkpointed)
        unproven.push(String(r.sessionId));
    }
    expect(unproven).toEqual([]);

    const alice = await mint("alice", ["phi-approvers"]);
    const approved = await call(`${url}/v1/approvals/${pendingApproval}/decision`, {
      method: "POST",
      token: alice,
      body: { decision: "approve", comment: "after the crash" },
    });
    expect(approved.status).toBe(200);
    let status: unknown;
    for (let i = 0; i < 6 && status !== "completed"; i++) {
      const polled = await call(`${url}/v1/sessions/${pending.body?.sessionId}?wait=20`, {
        method: "GET",
        token: nightly,
      });
      status = polled.body?.status;
    }
    expect(status).toBe("completed");

    child.kill("SIGTERM");
    await exited(child);
    child = undefined;
    const entries = await journalEntries(dataDir);
    expect(verifyChain(entries)).toEqual([]);
    const latest = new Map(entries.filter(isSessionEntry).map((e) => [e.record.sessionId, e.record.status]));
    expect([...latest.values()].filter((s) => s === "running")).toEqual([]);
    console.info(
      `crash: ${entries.length} chain entries verify after restart; ${received.length} answered sessions all recorded`,
    );
  }, 600_000);
});

describe("SIGTERM under load", () => {
  let dataDir: string | undefined;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    child?.kill("SIGKILL");
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it("answers and records every statement in flight, then exits 0", async () => {
    const prepared = await prepareDataDir("phigate-stop-", "info");
    dataDir = prepared.dataDir;
    const { url, env } = prepared;
    const running = await startProcess(env);
    child = running;
    let log = "";
    running.stdout?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    running.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    const nightly = (await call(`${url}/dev-idp/token`, { method: "POST", body: { sub: NIGHTLY } })).body
      ?.access_token as string;

    const received: Received[] = [];
    let stopping = 0;
    let started = 0;
    const clients = Array.from({ length: 20 }, async (_, client) => {
      for (let j = 0; ; j++) {
        const { kind, body } = mixedRequest(client * 100_000 + j);
        started++;
        try {
          const answer = await call(`${url}/v1/queries`, { method: "POST", token: nightly, body });
          if (
            answer.status === 503 &&
            (answer.body?.error as { code?: string } | undefined)?.code === "stopping"
          ) {
            stopping++;
            return;
          }
          received.push({ kind, status: answer.status, sessionId: sessionIdOf(answer.body), ms: 0 });
        } catch {
          return; // refused (the server stopped listening) or closed while idle: nothing was sent
        }
      }
    });
    while (received.length < 100) await new Promise((r) => setTimeout(r, 50));
    running.kill("SIGTERM");
    const [code] = (await once(running, "exit")) as [number | null];
    await Promise.all(clients);
    child = undefined;
    console.info(
      `stop: ${received.length} answers, ${stopping} told "stopping", ${started - received.length - stopping} not sent`,
    );
    expect(code).toBe(0);
    expect(log).toContain("finishing requests in flight");
    expect(received.filter((r) => r.status !== EXPECTED_STATUS[r.kind])).toEqual([]);

    const entries = await journalEntries(dataDir);
    expect(verifyChain(entries)).toEqual([]);
    const latest = new Map(entries.filter(isSessionEntry).map((e) => [e.record.sessionId, e.record.status]));
    // Opened directly, without a start's repair: a statement cut off would show here as running or failed.
    expect([...latest.values()].filter((status) => status === "running" || status === "failed")).toEqual([]);
    for (const r of received) expect(latest.get(r.sessionId ?? "")).toBeDefined();
    expect(latest.size).toBe(received.length);
  }, 300_000);
});
