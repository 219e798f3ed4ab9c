// Hostile input (issue 9): forged and misdirected tokens, 10,000 fuzzed statements, oversized bodies, rate limits,
// an unavailable database, a broken policy at start-up, and no dev IdP outside local development.

import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoPolicyWith } from "#test/support/approvals.ts";
import { NIGHTLY, signWithDevKey, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import { hostileStatement } from "#test/support/hostile-sql.ts";

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function expectErrorShape(body: unknown): void {
  expect(body).toMatchObject({
    error: { code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) },
  });
}

describe("hostile input", () => {
  let gw: TestGateway;
  let nightly: string;
  let claims: Record<string, unknown>;

  beforeAll(async () => {
    // The fuzz below sends 10,000 statements as one principal: lift its rate limit (demoPolicyWith throws if
    // the text to replace is gone, rather than leaving the limit in place to answer 429s).
    gw = await startTestGateway({
      policy: await demoPolicyWith([
        [
          "statementTimeoutMs: 10000",
          "statementTimeoutMs: 2000\n      requestsPerMinute: 1000000\n      burst: 100000",
        ],
      ]),
    });
    nightly = await gw.token(NIGHTLY);
    claims = JSON.parse(Buffer.from(nightly.split(".")[1] ?? "", "base64url").toString("utf8"));
  });
  afterAll(async () => gw?.close());

  it("rejects every token attack with 401; a valid token for an unknown principal gets 403, never 200", async () => {
    const now = Math.floor(Date.now() / 1000);
    const attacker = await generateKeyPair("ES256", { extractable: true });
    const attackerJwk = { ...(await exportJWK(attacker.publicKey)), alg: "ES256" };
    const devKid = gw.host.devIdp?.publicJwk.kid;
    const [h, , s] = nightly.split(".");
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid: devKid ?? "" })
      .sign(new TextEncoder().encode(JSON.stringify(gw.host.devIdp?.publicJwk)));
    const attacks: Record<string, { headers?: Record<string, string>; path?: string }> = {
      none: {},
      garbage: { headers: { authorization: "Bearer eyJ.garbage.!!" } },
      "alg none": { headers: { authorization: `Bearer ${b64url({ alg: "none" })}.${b64url(claims)}.` } },
      "HS256 signed with the public key": { headers: { authorization: `Bearer ${hs256}` } },
      "an unpublished key with the same kid": {
        headers: {
          authorization: `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: devKid ?? "" }).sign(attacker.privateKey)}`,
        },
      },
      "a tampered payload": {
        headers: { authorization: `Bearer ${h}.${b64url({ ...claims, sub: "admin" })}.${s}` },
      },
      expired: {
        headers: {
          authorization: `Bearer ${await signWithDevKey(gw, { ...claims, iat: now - 900, exp: now - 600 })}`,
        },
      },
      "not yet valid": {
        headers: { authorization: `Bearer ${await signWithDevKey(gw, { ...claims, nbf: now + 3600 })}` },
      },
      "wrong issuer": {
        headers: {
          authorization: `Bearer ${await signWithDevKey(gw, { ...claims, iss: "https://evil.test" })}`,
        },
      },
      "wrong audience": {
        headers: { authorization: `Bearer ${await signWithDevKey(gw, { ...claims, aud: "not-phigate" })}` },
      },
      "embedded jwk": {
        headers: {
          authorization: `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: "ES256", jwk: attackerJwk }).sign(attacker.privateKey)}`,
        },
      },
      "jku to the attacker's keys": {
        headers: {
          authorization: `Bearer ${await new SignJWT(claims)
            .setProtectedHeader({
              alg: "ES256",
              kid: await calculateJwkThumbprint(attackerJwk),
              jku: "https://evil.test/jwks",
            })
            .sign(attacker.privateKey)}`,
        },
      },
      "x5u to the attacker's certificate": {
        headers: {
          authorization: `Bearer ${await signWithDevKey(gw, claims, { x5u: "https://evil.test/cert.pem" })}`,
        },
      },
      "a token in the query string": { path: `/v1/queries?access_token=${nightly}` },
      "a token in the query string next to a valid header": {
        path: `/v1/queries?access_token=${nightly}`,
        headers: { authorization: `Bearer ${nightly}` },
      },
      "an oversized token": { headers: { authorization: `Bearer ${"a".repeat(12_000)}.b.c` } },
    };
    let rejected = 0;
    for (const [name, attack] of Object.entries(attacks)) {
      const answer = await gw.request("POST", attack.path ?? "/v1/queries", {
        body: { sql: "SELECT id FROM encounters LIMIT 1" },
        ...(attack.headers === undefined ? {} : { headers: attack.headers }),
      });
      expect(answer.status, name).toBe(401);
      expectErrorShape(answer.body);
      rejected++;
    }
    console.info(`token attacks: ${Object.keys(attacks).length} tried, ${rejected} rejected with 401`);
    const stranger = await gw.query(await gw.token("repo:evil/fork:ref:refs/heads/main"), {
      sql: "SELECT id FROM encounters LIMIT 1",
    });
    expect(stranger.status).toBe(403);
  });

  it("answers 10,000 fuzzed statements without a 5xx, every error in the contract's shape", async () => {
    const total = 10_000;
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const sql = hostileStatement(0x5eed, i);
        const answer = await gw.request("POST", "/v1/queries", {
          token: nightly,
          raw: JSON.stringify({ sql: sql.length === 0 ? " " : sql }),
          headers: { "content-type": "application/json" },
        });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status >= 500)
          throw new Error(`statement ${i} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
        if (answer.status >= 400) expectErrorShape(answer.body);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const tally = Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0]));
    console.info(`fuzzed ${total} statements, statuses: ${JSON.stringify(tally)}`);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    expect(statuses.has(429)).toBe(false);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(total);
  }, 600_000);

  it("refuses invalid UTF-8 and malformed bodies with 4xx in the contract's shape", async () => {
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"sql":"SELECT '),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]);
    const response = await fetch(`${gw.url}/v1/queries`, {
      method: "POST",
      headers: { authorization: `Bearer ${nightly}`, "content-type": "application/json" },
      body: invalidUtf8,
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expectErrorShape(await response.json());
    for (const raw of [
      "",
      "{",
      "[]",
      '{"sql": 1}',
      '{"sql":"SELECT 1","extra":true}',
      '{"sql":"SELECT \\u0000 1"}',
    ]) {
      const answer = await gw.request("POST", "/v1/queries", {
        token: nightly,
        raw,
        headers: { "content-type": "application/json" },
      });
      expect(answer.status, raw).toBe(400);
      expectErrorShape(answer.body);
    }
    const notJson = await gw.request("POST", "/v1/queries", {
      token: nightly,
      raw: "sql=SELECT 1",
      headers: { "content-type": "text/plain" },
    });
    expect(notJson.status).toBe(415);
  });

  it("answers 413 to an oversized body", async () => {
    const answer = await gw.request("POST", "/v1/queries", {
      token: nightly,
      raw: JSON.stringify({ sql: `SELECT '${"x".repeat(400_000)}'` }),
      headers: { "content-type": "application/json" },
    });
    expect(answer.status).toBe(413);
    expectErrorShape(answer.body);
  });

  it("rate-limits a caller with 429 and Retry-After, per principal", async () => {
    const limited = await startTestGateway({
      policy: `
version: 1
name: limits
issuers: { dev: dev-idp }
defaults: { requestsPerMinute: 60, burst: 5 }
principals:
  - id: reader
    match: { issuer: dev, sub: reader }
    grants: [{ tables: [public.encounters] }]
`,
    });
    try {
      const token = await limited.token("reader");
      const other = await limited.token("reader-2");
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++)
        statuses.push((await limited.query(token, { sql: "SELECT 1", dryRun: true })).status);
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      const last = await limited.query(token, { sql: "SELECT 1", dryRun: true });
      expect(last.status).toBe(429);
      expect(Number(last.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expectErrorShape(last.body);
      // Another caller is not throttled by this one's bucket (it matches no principal: refused, not rate-limited).
      const otherAnswer = await limited.query(other, { sql: "SELECT 1", dryRun: true });
      expect(otherAnswer.status).toBe(403);
      expect(otherAnswer.body.error.code).toBe("policy_denied");
    } finally {
      await limited.close();
    }
  });

  it("answers 503 with no data when the database is unavailable", async () => {
    const down = await startTestGateway({ databaseUrl: "postgresql://nobody@127.0.0.1:1/none" });
    try {
      const answer = await down.query(await down.token(NIGHTLY), {
        sql: "SELECT id FROM encounters LIMIT 1",
      });
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe("database_unavailable");
      expect(answer.body).not.toHaveProperty("rows");
    } finally {
      await down.close();
    }
  });

  it("refuses to start with a broken policy, naming the offending path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "phigate-broken-"));
    try {
      const policy = join(dir, "broken.yaml");
      await writeFile(
        policy,
        "version: 1\nname: broken\nprincipals:\n  - id: x\n    match: { sub: x }\n    grants: []\n",
      );
      const result = await promisify(execFile)("node", ["bin/start.mjs"], {
        env: { ...process.env, PHIGATE_POLICY: policy, DATA_DIR: join(dir, "data"), PORT: "0" },
        timeout: 60_000,
      }).then(
        () => ({ code: 0, stderr: "" }),
        (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? "" }),
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/phigate could not start: .*broken\.yaml: principals\.0\.(match|grants)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("has no dev IdP outside local development, and does not accept its tokens", async () => {
    const prod = await startTestGateway({
      mode: "production",
      issuers: [
        {
          issuer: "https://idp.example.test/",
          jwksUri: "https://idp.example.test/jwks",
          audience: ["phigate"],
          groupsClaim: "groups",
        },
      ],
    });
    try {
      expect(prod.host.devIdp).toBeUndefined();
      for (const path of [
        "/dev-idp/token",
        "/dev-idp/.well-known/openid-configuration",
        "/dev-idp/.well-known/jwks.json",
      ]) {
        const answer = path.endsWith("token")
          ? await prod.request("POST", path, { body: { sub: NIGHTLY } })
          : await prod.request("GET", path);
        expect(answer.status, path).toBe(404);
      }
      const answer = await prod.query(nightly, { sql: "SELECT 1" });
      expect(answer.status).toBe(401);
    } finally {
      await prod.close();
    }
  });
});
