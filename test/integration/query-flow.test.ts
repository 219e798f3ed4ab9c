// End to end through HTTP (issue 2): real tokens from the dev IdP, real PostgreSQL (embedded, then a server),
// allowed and denied queries recorded and read back, and every token rejection in the contract's error shape.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoPolicyWith } from "#test/support/approvals.ts";
import { NIGHTLY, signWithDevKey, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import { journalShape } from "#test/support/journal-shape.ts";
import {
  type PostgresServer,
  postgresUnavailableReason,
  startPostgresServer,
} from "#test/support/postgres-server.ts";
import { seedEhr } from "#tools/ehr/seed.ts";

function expectErrorShape(body: unknown, code: string): void {
  expect(body).toMatchObject({ error: { code, message: expect.any(String) } });
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

interface Backend {
  name: string;
  start(): Promise<TestGateway>;
  stop(): Promise<void>;
}

/**
 * The demo policy with a window of 5,000 PHI rows an hour for the bulk rule: this file checks the query flow and
 * the Safe Harbor masking of a few thousand rows as one caller, not the window (risk-by-slices does).
 */
const flowPolicy = (): Promise<string> =>
  demoPolicyWith([
    [
      "        unlessLimitAtMost: 1000\n",
      "        unlessLimitAtMost: 1000\n        restrictedRowsAtMost: 5000\n",
    ],
  ]);

let server: PostgresServer | undefined;
const backends: Backend[] = [
  {
    name: "embedded PGlite",
    start: async () => startTestGateway({ policy: await flowPolicy() }),
    stop: async () => {},
  },
];
const unavailable = postgresUnavailableReason();
if (unavailable === undefined || process.env.PHIGATE_REQUIRE_POSTGRES === "1") {
  backends.push({
    name: "a PostgreSQL server (DATABASE_URL)",
    async start() {
      server = await startPostgresServer({ database: "ehr" });
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        await seedEhr(client);
      } finally {
        await client.end();
      }
      return startTestGateway({ databaseUrl: server.url, policy: await flowPolicy() });
    },
    stop: async () => server?.stop(),
  });
} else {
  console.warn(`skipping the DATABASE_URL end-to-end run: ${unavailable}`);
}

describe.each(backends)("query flow against $name", (backend) => {
  let gw: TestGateway;
  let nightly: string;

  beforeAll(async () => {
    gw = await backend.start();
    nightly = await gw.token(NIGHTLY);
  });
  afterAll(async () => {
    try {
      await gw?.close();
    } finally {
      await backend.stop();
    }
  });

  it("gives the nightly report job rows from encounters and records the session", async () => {
    const answer = await gw.query(nightly, {
      sql: "SELECT id, department FROM encounters ORDER BY id LIMIT 5",
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "completed", rowCount: 5, truncated: false });
    expect(answer.body.sessionId).toMatch(/^ses_/);
    expect(answer.body.columns).toEqual([
      { name: "id", type: "int4", masking: null },
      // Text the plan leaves unmasked still goes through the detectors (the second line).
      { name: "department", type: "text", masking: { rule: "detectors", strategy: "detect" } },
    ]);
    expect(answer.body.rows).toHaveLength(5);
    expect(answer.body.rows[0][0]).toBe(1);

    const session = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}`, { token: nightly });
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({
      sessionId: answer.body.sessionId,
      status: "completed",
      sql: "SELECT id, department FROM encounters ORDER BY id LIMIT 5",
      principal: { subject: NIGHTLY },
      decision: {
        outcome: "allow",
        policy: { name: "demo", digest: expect.stringMatching(/^[0-9a-f]{64}$/) },
      },
      result: { rowCount: 5, rows: answer.body.rows },
    });
    expect(session.body.classification.relations).toEqual([
      expect.objectContaining({ schema: "public", table: "encounters" }),
    ]);
  });

  it("denies an unknown principal with 403 policy_denied and records the denial", async () => {
    const stranger = await gw.token("stranger");
    const answer = await gw.query(stranger, { sql: "SELECT id FROM encounters LIMIT 1" });
    expect(answer.status).toBe(403);
    expectErrorShape(answer.body, "policy_denied");
    expect(answer.body.error.sessionId).toMatch(/^ses_/);
    const session = await gw.request("GET", `/v1/sessions/${answer.body.error.sessionId}`, {
      token: stranger,
    });
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ status: "rejected", decision: { outcome: "deny" } });
    expect(session.body).not.toHaveProperty("result");
  });

  it("shows a session to its requester only (404 for anyone else)", async () => {
    const answer = await gw.query(nightly, { sql: "SELECT id FROM medications LIMIT 1" });
    expect(answer.status).toBe(200);
    const other = await gw.token("repo:acme/other:ref:refs/heads/main");
    const peek = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}`, { token: other });
    expect(peek.status).toBe(404);
    expectErrorShape(peek.body, "not_found");
    const unknown = await gw.request("GET", "/v1/sessions/ses_00000000000000000000000000", {
      token: nightly,
    });
    expect(unknown.status).toBe(404);
  });

  it("masks PHI columns as the demo policy says", async () => {
    const answer = await gw.query(nightly, {
      sql: "SELECT id, ssn, mrn, dob, zip, phone FROM patients ORDER BY id LIMIT 3",
    });
    expect(answer.status).toBe(200);
    const byName = Object.fromEntries(
      answer.body.columns.map((c: { name: string; masking: unknown }) => [c.name, c.masking]),
    );
    expect(byName).toMatchObject({
      id: null,
      ssn: { strategy: "redact" },
      mrn: { strategy: "tokenize" },
      dob: { strategy: "generalize" },
      zip: { strategy: "generalize" },
      phone: { strategy: "redact" },
    });
    expect(answer.body.rows).toHaveLength(3);
    for (const row of answer.body.rows) {
      expect(row[1]).toBe("[REDACTED]");
      expect(row[2]).not.toMatch(/MRN-/);
      expect(row[5]).toBe("[REDACTED]");
    }
  });

  it("applies HIPAA Safe Harbor to the demo schema's dates and geography", async () => {
    /** Rows read straight from the database, to compare each masked value with its original. */
    const raw = async (sql: string): Promise<unknown[][]> => {
      const rows: unknown[][] = [];
      await gw.host.deps.executor.execute(
        { sql, params: [], timeoutMs: 10_000, maxRows: 1_000, pageSize: 1_000 },
        { columns: () => undefined, rows: (page) => void rows.push(...page) },
      );
      return rows;
    };
    const year = (value: unknown): string => String(value).slice(0, 4);
    const people = "SELECT id, dob, address, city, state, zip FROM patients ORDER BY id LIMIT 500";
    const patients = await gw.query(nightly, { sql: people });
    expect(patients.status, patients.text).toBe(200);
    expect(patients.body.columns.map((c: { masking: unknown }) => c.masking)).toEqual([
      null,
      { rule: "public.patients.dob", strategy: "generalize" },
      { rule: "public.patients.address", strategy: "redact" },
      { rule: "public.patients.city", strategy: "redact" },
      { rule: "detectors", strategy: "detect" },
      { rule: "public.patients.zip", strategy: "generalize" },
    ]);
    // Anyone born in the cutoff year or before may be over 89 now: their birth years are one group.
    const cutoff = new Date().getUTCFullYear() - 90;
    const original = await raw(people);
    expect(patients.body.rows).toHaveLength(original.length);
    let grouped = 0;
    patients.body.rows.forEach((row: unknown[], i: number) => {
      const [id, dob, , , state, zip] = original[i] as unknown[];
      const born = Number(year(dob));
      if (born <= cutoff) grouped++;
      expect(row).toEqual([
        id,
        born <= cutoff ? `<=${cutoff}` : String(born),
        "[REDACTED]",
        "[REDACTED]",
        state,
        expect.stringMatching(new RegExp(`^(?:${String(zip).slice(0, 3)}|000)$`)),
      ]);
    });
    expect(grouped).toBeGreaterThan(0);
    expect(grouped).toBeLessThan(original.length);

    for (const [sql, columns] of [
      ["SELECT id, admitted_at, discharged_at FROM encounters ORDER BY id LIMIT 1000", 2],
      ["SELECT id, started_at FROM medications ORDER BY id LIMIT 1000", 1],
    ] as const) {
      const answer = await gw.query(nightly, { sql });
      expect(answer.status, answer.text).toBe(200);
      for (const column of answer.body.columns.slice(1)) {
        expect(column.masking).toMatchObject({ strategy: "generalize" });
      }
      const expected = (await raw(sql)).map(([id, ...dates]) => [
        id,
        ...dates.map((d) => (d === null ? null : year(d))),
      ]);
      expect(expected[0]).toHaveLength(columns + 1);
      expect(answer.body.rows).toEqual(expected);
    }
  });

  it("answers a dry run without executing, and records it as a session", async () => {
    const answer = await gw.query(nightly, {
      sql: "SELECT ssn FROM patients WHERE id = $1",
      params: [1],
      dryRun: true,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      decision: "allow",
      classification: { kind: "read", tables: ["public.patients"] },
      masking: [{ column: "ssn", rule: "public.patients.ssn", strategy: "redact" }],
    });
    const record = await gw.host.deps.sessions.get(answer.body.sessionId);
    expect(record).toMatchObject({
      status: "dry_run",
      decision: { outcome: "allow", reasons: answer.body.reasons },
      execution: null,
      result: null,
    });
    expect(record?.completedAt).not.toBeNull();
    const denied = await gw.query(nightly, { sql: "SELECT txid_current()", dryRun: true });
    expect(denied.body.decision).toBe("deny");
    const deniedRecord = await gw.host.deps.sessions.get(denied.body.sessionId);
    expect(deniedRecord?.status).toBe("dry_run");
    expect(deniedRecord?.decision.reasons).toEqual(denied.body.reasons);
    expect(denied.body.reasons.join(" ")).toContain("txid_current");
  });

  it("never shows the planner's estimate to the caller, only the rules' thresholds, and is blind to protected values looked up", async () => {
    const lookup = async (name: string) =>
      gw.query(nightly, {
        sql: `SELECT a.id FROM patients a, generate_series(1, 100000) g WHERE a.last_name = '${name}'`,
        dryRun: true,
      });
    const smiths = await lookup("Smith");
    expect(smiths.status).toBe(200);
    const figures = (body: unknown) => JSON.stringify(body).replace(/more than \d+ (PHI )?rows/g, "");
    expect(figures(smiths.body)).not.toMatch(/\d{3,}\s*rows|10\^/);
    // The same answer for a common name and for one nobody has: the estimate never saw the value.
    const nobody = await lookup("Zzyzxq");
    expect(nobody.body.reasons).toEqual(smiths.body.reasons);
    const big = await gw.query(nightly, {
      sql: "SELECT e.id FROM encounters e, generate_series(1, 10) g ORDER BY e.id, g LIMIT 50000",
      dryRun: true,
    });
    expect(big.body.decision).toBe("require_approval");
    const text = big.body.reasons.join(" ");
    // The threshold, never the estimate (not even its order of magnitude).
    expect(text).toMatch(/the planner estimates more than 20000 rows/);
    expect(text.replace(/more than \d+ (PHI )?rows/g, "")).not.toMatch(/10\^|\d{3,} rows/);
  });

  it("returns the same session for a retried Idempotency-Key, and refuses the key for another request", async () => {
    const body = { sql: "SELECT id FROM encounters ORDER BY id LIMIT 2" };
    const first = await gw.query(nightly, body, { "idempotency-key": "nightly-2026-11-29" });
    expect(first.status).toBe(200);
    const second = await gw.query(nightly, body, { "idempotency-key": "nightly-2026-11-29" });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const other = await gw.query(
      nightly,
      { sql: "SELECT id FROM encounters LIMIT 1" },
      { "idempotency-key": "nightly-2026-11-29" },
    );
    expect(other.status).toBe(409);
    expectErrorShape(other.body, "idempotency_key_reused");
  });

  it("rejects missing, forged, expired and misdirected tokens with 401 in the contract's shape", async () => {
    const [header, payload, signature] = nightly.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8"));
    const now = Math.floor(Date.now() / 1000);
    const attempts: Record<string, Record<string, string>> = {
      none: {},
      garbage: { authorization: "Bearer not-a-token" },
      "bad signature": {
        authorization: `Bearer ${header}.${b64url({ ...claims, sub: "admin" })}.${signature}`,
      },
      "alg none": { authorization: `Bearer ${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.` },
      expired: {
        authorization: `Bearer ${await signWithDevKey(gw, { ...claims, iat: now - 600, exp: now - 300 })}`,
      },
      "wrong issuer": {
        authorization: `Bearer ${await signWithDevKey(gw, { ...claims, iss: "https://evil.test" })}`,
      },
      "wrong audience": {
        authorization: `Bearer ${await signWithDevKey(gw, { ...claims, aud: "someone-else" })}`,
      },
    };
    for (const [name, headers] of Object.entries(attempts)) {
      const answer = await gw.request("POST", "/v1/queries", { body: { sql: "SELECT 1" }, headers });
      expect(answer.status, name).toBe(401);
      expectErrorShape(answer.body, "unauthorized");
    }
  });

  it("never writes SQL literals, rows or tokens to its logs", async () => {
    await gw.query(nightly, { sql: "SELECT id FROM patients WHERE last_name = 'Needle-In-Logs'" });
    const logs = gw.logs.join("\n");
    expect(logs).not.toContain("Needle-In-Logs");
    expect(logs).not.toContain(nightly);
    expect(logs).not.toMatch(/\d{3}-\d{2}-\d{4}/);
  });

  it("wrote every session record exactly in its schema's shape (the stores do not re-parse what they write)", async () => {
    const shape = await journalShape(gw.dataDir);
    expect(shape.records).toBeGreaterThan(5);
    expect(shape.outOfShape).toEqual([]);
  });
});
