// End to end through HTTP (issue 5): replay for requester and auditor, evidence bundles for auditors only,
// 200 parallel queries then a bundle that verifies with no gap or fork, and stores failing mid-request.

import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnavailableError } from "#shared/errors.ts";
import { verifyBundle } from "#shared/evidence/verify-bundle.ts";
import type { HandlerDeps } from "#shared/http/route.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { verifyChain } from "#shared/sessions/chain.ts";
import { RECORDED_PER_WINDOW } from "#shared/sessions/unknown-callers.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

/** Failures armed by a test; the real adapters do the work otherwise. */
const faults = { objectPut: false, completionWrite: false };

function withFaults(deps: HandlerDeps): HandlerDeps {
  const objects = deps.objects;
  const sessions = deps.sessions;
  return {
    ...deps,
    objects: {
      put(key, body, contentType) {
        if (!faults.objectPut) return objects.put(key, body, contentType);
        faults.objectPut = false;
        async function* failingMidway(): AsyncIterable<Uint8Array> {
          yield body instanceof Uint8Array ? body.subarray(0, 8) : new Uint8Array(8);
          throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
        }
        return objects.put(key, failingMidway(), contentType);
      },
      get: (key) => objects.get(key),
      readUrl: (key, ttl) => objects.readUrl(key, ttl),
    },
    sessions: {
      create: (record, idempotency) => sessions.create(record, idempotency),
      update(record) {
        if (faults.completionWrite && record.status === "completed") {
          faults.completionWrite = false;
          return Promise.reject(
            new UnavailableError("store_unavailable", "the session store is unavailable"),
          );
        }
        return sessions.update(record);
      },
      get: (id) => sessions.get(id),
      entries: (from, to) => sessions.entries(from, to),
      recordPolicy: (policy, by) => sessions.recordPolicy(policy, by),
    },
  };
}

describe("evidence end to end", () => {
  let gw: TestGateway;
  let nightly: string;
  let auditor: string;
  let approver: string;
  let stranger: string;
  let fingerprint: string;
  const started = new Date();

  beforeAll(async () => {
    const demo = await readFile("policy/demo.yaml", "utf8");
    const burst = "defaults:\n  requestsPerMinute: 100000\n  burst: 1000\n";
    if (!demo.includes("defaults:\n")) throw new Error("policy/demo.yaml has no defaults section");
    gw = await startTestGateway({ wrapDeps: withFaults, policy: demo.replace("defaults:\n", burst) });
    nightly = await gw.token(NIGHTLY);
    auditor = await gw.token("audrey", { groups: ["auditors"] });
    approver = await gw.token("alice", { groups: ["phi-approvers"] });
    stranger = await gw.token("stranger");
    fingerprint = (await gw.host.deps.signer.publicKey()).fingerprint;
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("replays a session to its requester and to auditors (JSON and HTML), and to no one else", async () => {
    const sql =
      "SELECT id, ssn FROM patients WHERE state <> '</pre><script>alert(1)</script>' ORDER BY id LIMIT 3";
    const answer = await gw.query(nightly, { sql, purpose: "<b>nightly</b>" });
    expect(answer.status, answer.text).toBe(200);
    const path = `/v1/sessions/${answer.body.sessionId}/replay`;
    for (const token of [nightly, auditor]) {
      const replay = await gw.request("GET", path, { token });
      expect(replay.status).toBe(200);
      expect(replay.body).toMatchObject({
        schema: "phigate.replay/v1",
        sessionId: answer.body.sessionId,
        status: "completed",
        exchange: {
          request: { sql, principal: { subject: NIGHTLY } },
          decision: { outcome: "allow", policy: { name: "demo" } },
          approvals: { request: null, decisions: [] },
          execution: { rowCount: 3 },
          response: { integrity: "verified", rows: answer.body.rows, columns: answer.body.columns },
        },
      });
      expect(replay.body.versions.map((v: { status: string }) => v.status)).toEqual(["running", "completed"]);
      expect(replay.body.versions[1].prev).toBe(replay.body.versions[0].digest);
      expect(replay.body.versions.every((v: { digestVerified: boolean }) => v.digestVerified)).toBe(true);
    }
    for (const request of [
      { headers: { accept: "text/html,application/xhtml+xml" } },
      { path: `${path}?format=html` },
    ]) {
      const page = await gw.request("GET", request.path ?? path, {
        token: auditor,
        headers: request.headers ?? {},
      });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(page.headers.get("content-security-policy")).toMatch(/^default-src 'none'; style-src 'sha256-/);
      expect(page.headers.get("content-security-policy")).toContain("script-src 'none'");
      expect(page.text).toContain("&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
      expect(page.text).toContain("&lt;b&gt;nightly&lt;/b&gt;");
      expect(page.text).not.toMatch(/<script|<b>nightly/);
      expect(page.text).toContain("6. Masked response");
    }
    for (const token of [approver, stranger]) {
      const peek = await gw.request("GET", path, { token });
      expect(peek.status).toBe(404);
      expect(peek.body).toMatchObject({ error: { code: "not_found" } });
    }
    expect((await gw.request("GET", `${path}?format=pdf`, { token: nightly })).status).toBe(400);
  });

  it("makes evidence bundles for auditors only, over a validated, bounded range", async () => {
    const to = new Date().toISOString();
    const from = new Date(Date.now() - 3_600_000).toISOString();
    for (const token of [nightly, approver, stranger]) {
      const refused = await gw.request("POST", "/v1/evidence-bundles", { token, body: { from, to } });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ error: { code: "not_an_auditor" } });
    }
    const cases: [unknown, number, string][] = [
      [{ from }, 400, "invalid_request"],
      [{ from: "yesterday", to }, 400, "invalid_request"],
      [{ from, to, extra: 1 }, 400, "invalid_request"],
      [{ from: to, to: from }, 400, "invalid_range"],
      [{ from: "2020-01-01T00:00:00Z", to }, 400, "invalid_range"],
      [{ from, to: new Date(Date.now() + 3_600_000).toISOString() }, 400, "invalid_range"],
    ];
    for (const [body, status, code] of cases) {
      const answer = await gw.request("POST", "/v1/evidence-bundles", { token: auditor, body });
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body).toMatchObject({ error: { code } });
    }
    const noToken = await gw.request("POST", "/v1/evidence-bundles", { body: { from, to } });
    expect(noToken.status).toBe(401);
  });

  it("keeps one chain under 200 parallel queries; the bundle of the range verifies with no gap or fork", async () => {
    const from = new Date(Date.now() - 1).toISOString();
    const statements = [
      "SELECT id, department FROM encounters ORDER BY id LIMIT 3",
      "SELECT id, ssn, dob FROM patients ORDER BY id LIMIT 2",
      // medications is a PHI table (its start dates are Safe Harbor dates): a small LIMIT keeps this one routine.
      "SELECT id, drug, started_at FROM medications ORDER BY id LIMIT 3",
    ];
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 10 === 9
          ? gw.query(stranger, { sql: "SELECT id FROM encounters LIMIT 1" })
          : gw.query(nightly, { sql: statements[i % statements.length] }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(180);
    expect(statuses.filter((s) => s === 403)).toHaveLength(20);
    // The stranger matches no principal: its first attempts of the hour are recorded, the rest only counted.
    const strangerSessions = answers.filter(
      (a) => a.status === 403 && a.body.error?.sessionId !== undefined,
    ).length;
    expect(strangerSessions).toBeGreaterThan(0);
    expect(strangerSessions).toBeLessThanOrEqual(RECORDED_PER_WINDOW);
    const sessions = 180 + strangerSessions;
    const entries = 360 + strangerSessions;
    const sessionIds = new Set(answers.flatMap((a) => a.body.sessionId ?? a.body.error?.sessionId ?? []));
    expect(sessionIds.size).toBe(sessions);
    const to = new Date(Date.now() + 1).toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    const created = await gw.request("POST", "/v1/evidence-bundles", { token: auditor, body: { from, to } });
    const ms = performance.now() - started;
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      bundleId: expect.stringMatching(/^evb_/),
      location: expect.stringContaining(`${gw.dataDir}/evidence/`),
      keyFingerprint: fingerprint,
      entries,
      sessions,
    });
    console.info(
      `evidence bundle of ${sessions} sessions (${entries} chain entries) built in ${Math.round(ms)} ms (incl. ~2 s settle)`,
    );
    const verification = await verifyBundle(created.body.location, { trustedKey: fingerprint });
    expect(verification.problems).toEqual([]);
    expect(verification.facts).toMatchObject({
      entries,
      sessions,
      exports: 180,
      authorized: 180,
      maskedAsRequired: 180,
      reanalyzed: 180,
      catalogs: 1,
    });
    const all: ChainEntry[] = [];
    for await (const entry of gw.host.deps.sessions.entries("0000-00-00", "9999-12-31")) all.push(entry);
    expect(verifyChain(all)).toEqual([]);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    const inRange = all.filter((e) => e.recordedAt >= from && e.recordedAt < to);
    const manifest = verification.manifest;
    expect(manifest?.chain.first?.seq).toBe(inRange[0]?.seq);
    expect(manifest?.chain.last?.digest).toBe(inRange.at(-1)?.digest);
    expect(manifest?.chain.anchor).toBe(inRange[0]?.prev);
    expect(manifest?.chain.anchor).toBe(all[(inRange[0]?.seq ?? 1) - 2]?.digest);
  });

  it("answers 503 with no rows when the object store fails mid-write, and the session shows the failure", async () => {
    faults.objectPut = true;
    const answer = await gw.query(nightly, {
      sql: "SELECT id, department FROM encounters ORDER BY id LIMIT 4",
    });
    expect(faults.objectPut).toBe(false);
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      error: {
        code: "store_unavailable",
        message: expect.any(String),
        sessionId: expect.stringMatching(/^ses_/),
      },
    });
    expect(answer.text).not.toContain("cardiology");
    const session = await gw.request("GET", `/v1/sessions/${answer.body.error.sessionId}`, {
      token: nightly,
    });
    expect(session.body).toMatchObject({ status: "failed", error: { code: "store_unavailable" } });
    expect(session.body).not.toHaveProperty("result");
    const replay = await gw.request("GET", `/v1/sessions/${answer.body.error.sessionId}/replay`, {
      token: auditor,
    });
    expect(replay.body.exchange.response).toMatchObject({ integrity: "none", rows: [], status: "failed" });
    expect(replay.body.versions.map((v: { status: string }) => v.status)).toEqual(["running", "failed"]);
  });

  it("answers 503 with no rows when the session store fails to record completion, and records the failure", async () => {
    faults.completionWrite = true;
    const answer = await gw.query(nightly, {
      sql: "SELECT id, department FROM encounters ORDER BY id LIMIT 4",
    });
    expect(faults.completionWrite).toBe(false);
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({
      code: "store_unavailable",
      sessionId: expect.stringMatching(/^ses_/),
    });
    expect(answer.body).not.toHaveProperty("rows");
    const session = await gw.request("GET", `/v1/sessions/${answer.body.error.sessionId}`, {
      token: nightly,
    });
    expect(session.body).toMatchObject({ status: "failed", error: { code: "store_unavailable" } });
    const to = new Date(Date.now() + 1).toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const bundle = await gw.request("POST", "/v1/evidence-bundles", {
      token: auditor,
      body: { from: started.toISOString(), to },
    });
    expect(bundle.status).toBe(201);
    const verification = await verifyBundle(bundle.body.location, { trustedKey: fingerprint });
    expect(verification.problems).toEqual([]);
    expect(verification.manifest?.counts.statuses.failed).toBe(2);
  });
});
