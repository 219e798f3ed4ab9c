// `phigate proxy` with real PostgreSQL clients against a real local gateway: psql, node-postgres (parameters, types,
// row-limited fetches) and psycopg2 each read masked values, get an ErrorResponse when denied, and wait for approval.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import pg from "pg";
import Cursor from "pg-cursor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpGatewayClient } from "#cli/http-gateway-client.ts";
import { type RunningProxy, startProxy } from "#cli/proxy/proxy-server.ts";
import { decide, eventually, RAW_SSN, RISKY_SMALL_SQL, rawSsns } from "#test/support/approvals.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import { describeWithClient, PYTHON_WITH_PSYCOPG2 } from "#test/support/pg-clients.ts";

/** Seven PHI columns (the demo's many-phi-columns rule) without parameters, for clients that send literals. */
const RISKY_LITERAL_SQL =
  "SELECT id, ssn, first_name, dob, mrn, last_name, zip, phone FROM patients WHERE state <> 'ZZ' ORDER BY id LIMIT 20";
const DENIED_SQL = "SELECT substr(ssn, 1, 3) AS head FROM patients LIMIT 1";
const MASKED_SQL = "SELECT id, ssn, dob FROM patients ORDER BY id LIMIT 3";

interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** What psql's Ctrl-C sends: a CancelRequest on a new connection with the backend's process id and secret. */
async function sendCancelRequest(port: number, processId: number, secret: number): Promise<void> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  const frame = Buffer.alloc(16);
  frame.writeInt32BE(16, 0);
  frame.writeInt32BE(80877102, 4);
  frame.writeInt32BE(processId, 8);
  frame.writeInt32BE(secret, 12);
  socket.end(frame);
  await once(socket, "close");
}

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LANG: "C.UTF-8", ...env },
      stdio: ["pipe", "pipe", "pipe"],
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
    child.stdin.end(input ?? "");
  });
}

const PSYCOPG_SCRIPT = `
import json, os, sys, psycopg2
conn = psycopg2.connect(host="127.0.0.1", port=int(os.environ["PORT"]), user="report", password=os.environ["PASSWORD"],
                        dbname="ehr", sslmode="disable")
cur = conn.cursor()
try:
    cur.execute(os.environ["SQL"], json.loads(os.environ.get("PARAMS", "null")))
    out = {"columns": [d[0] for d in cur.description], "rows": cur.fetchall(), "notices": conn.notices}
    conn.commit()
except psycopg2.Error as e:
    out = {"pgcode": e.pgcode, "error": e.pgerror, "status": conn.get_transaction_status()}
print(json.dumps(out, default=str))
`;

describe("phigate proxy", () => {
  let gw: TestGateway;
  let proxy: RunningProxy;
  let password: string;
  let alice: string;
  let ssns: string[];
  const seenApprovals = new Set<string>();

  /** The id of the next approval request the gateway stores (read from its DATA_DIR). */
  async function nextApproval(): Promise<string> {
    return eventually(async () => {
      const names = await readdir(join(gw.dataDir, "approvals", "requests")).catch(() => [] as string[]);
      const fresh = names
        .filter((n) => n.endsWith(".json"))
        .map((n) => n.slice(0, -5))
        .find((id) => !seenApprovals.has(id));
      if (fresh !== undefined) seenApprovals.add(fresh);
      return fresh;
    }, 30_000);
  }

  async function approveNext(): Promise<string> {
    const approvalId = await nextApproval();
    expect((await decide(gw, alice, approvalId, { decision: "approve" })).status).toBe(200);
    return approvalId;
  }

  const pgEnv = (): Record<string, string> => ({
    PGHOST: "127.0.0.1",
    PGPORT: String(proxy.port),
    PGUSER: "report",
    PGPASSWORD: password,
    PGDATABASE: "ehr",
    PGSSLMODE: "disable",
  });

  function nodeClient(): pg.Client {
    return new pg.Client({ host: "127.0.0.1", port: proxy.port, user: "report", password, database: "ehr" });
  }

  beforeAll(async () => {
    // A small inline limit, so larger results come as a resultUrl the proxy streams.
    gw = await startTestGateway({
      wrapDeps: (deps) => ({ ...deps, results: { pageSize: 500, inlineMaxBytes: 16 * 1024 } }),
    });
    const token = await gw.token(NIGHTLY, { ttlSeconds: 3600 });
    password = randomBytes(12).toString("base64url");
    proxy = await startProxy({
      client: new HttpGatewayClient(gw.url, { token: async () => token, refreshable: false }),
      port: 0,
      password,
      purpose: "proxy test",
    });
    alice = await gw.token("alice", { groups: ["phi-approvers"] });
    ssns = await rawSsns(gw, 50);
  });
  afterAll(async () => {
    await proxy?.close();
    await gw?.close();
  });

  describeWithClient("psql", "psql", () => {
    it("reads masked values, with a NOTICE naming the masked columns", async () => {
      const out = await run("psql", ["-X", "-A", "-F", ",", "-c", MASKED_SQL], pgEnv());
      expect(out.code).toBe(0);
      expect(out.stdout.split("\n").slice(0, 4)).toEqual([
        "id,ssn,dob",
        "1,[REDACTED],1964",
        "2,[REDACTED],<=1936",
        expect.stringMatching(/^3,\[REDACTED\],\d{4}$/),
      ]);
      expect(out.stderr).toMatch(
        /NOTICE: {2}phigate session ses_\w+: 2 masked column\(s\): ssn \(redact\), dob \(generalize\)/,
      );
      for (const ssn of ssns) expect(out.stdout).not.toContain(ssn);
    });

    it("shows a denied statement as an ErrorResponse with the gateway's code and SQLSTATE 42501", async () => {
      const out = await run("psql", ["-X", "-v", "VERBOSITY=verbose", "-c", DENIED_SQL], pgEnv());
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(
        /ERROR: {2}42501: policy_denied: protected column public\.patients\.ssn is used in a function \(substr\)/,
      );
      expect(out.stderr).toMatch(/DETAIL: {2}phigate session ses_\w+/);
    });

    it("waits for an approver with a NOTICE naming the approval and its link, then prints the result", async () => {
      const running = run("psql", ["-X", "-A", "-F", ",", "-c", RISKY_LITERAL_SQL], pgEnv());
      const approvalId = await approveNext();
      const out = await running;
      expect(out.code).toBe(0);
      expect(out.stderr).toContain(
        `NOTICE:  phigate: this statement needs approval ${approvalId} before it runs`,
      );
      expect(out.stderr).toContain(`${gw.url}/approvals/${approvalId}`);
      expect(out.stdout).toContain("(20 rows)");
      expect(out.stdout).not.toMatch(RAW_SSN);
    });

    it("accepts READ COMMITTED transaction brackets and refuses what cannot be honest over the proxy", async () => {
      const script = [
        "BEGIN;",
        "SELECT count(*) AS n FROM encounters WHERE id <= 10;",
        "SHOW transaction_isolation;",
        "COMMIT;",
        "BEGIN ISOLATION LEVEL SERIALIZABLE;",
        "COPY patients TO STDOUT;",
        "DECLARE c CURSOR FOR SELECT id FROM encounters;",
        "SET statement_timeout = 0;",
      ].join("\n");
      const out = await run("psql", ["-X", "-A", "-v", "VERBOSITY=verbose"], pgEnv(), script);
      expect(out.stdout).toContain(
        "BEGIN\nn\n10\n(1 row)\ntransaction_isolation\nread committed\n(1 row)\nCOMMIT",
      );
      expect(out.stderr).toMatch(
        /ERROR: {2}0A000: phigate proxy: .*REPEATABLE READ and SERIALIZABLE transactions are refused/,
      );
      expect(out.stderr).toMatch(/ERROR: {2}0A000: phigate proxy: COPY is not supported/);
      expect(out.stderr).toMatch(/ERROR: {2}0A000: phigate proxy: SQL-level cursors are not supported/);
      expect(out.stderr).toMatch(/ERROR: {2}0A000: phigate proxy: SET statement_timeout is not supported/);
    });

    it("refuses a wrong password", async () => {
      const out = await run("psql", ["-X", "-c", "SELECT 1"], { ...pgEnv(), PGPASSWORD: "wrong" });
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/password authentication failed/);
    });
  });

  describe("node-postgres", () => {
    it("binds parameters (extended protocol) and reads masked values with their types", async () => {
      const client = nodeClient();
      await client.connect();
      try {
        const notices: string[] = [];
        client.on("notice", (n) => notices.push(n.message ?? ""));
        const result = await client.query(
          "SELECT id, ssn, dob FROM patients WHERE id BETWEEN 1 AND $1 ORDER BY id",
          [3],
        );
        expect(result.rows).toEqual([
          { id: 1, ssn: "[REDACTED]", dob: "1964" },
          { id: 2, ssn: "[REDACTED]", dob: "<=1936" },
          { id: 3, ssn: "[REDACTED]", dob: expect.stringMatching(/^\d{4}$/) },
        ]);
        expect(result.fields.map((f) => f.dataTypeID)).toEqual([23, 25, 25]);
        expect(result.command).toBe("SELECT");
        expect(result.rowCount).toBe(3);
        expect(notices).toEqual([
          expect.stringMatching(/masked column\(s\): ssn \(redact\), dob \(generalize\)/),
        ]);
        const typed = await client.query(
          "SELECT 1::float8 / 3 AS f, timestamptz '2024-05-06 07:08:09.5+00' AS t, ARRAY[1, NULL, 3] AS a, ARRAY['x y', ''] AS s, '{\"k\": [1]}'::jsonb AS j, 12345678901234::int8 AS b, true AS yes, NULL::int AS nothing",
        );
        expect(typed.rows[0]).toEqual({
          f: 1 / 3,
          t: new Date("2024-05-06T07:08:09.500Z"),
          a: [1, null, 3],
          s: ["x y", ""],
          j: { k: [1] },
          b: "12345678901234",
          yes: true,
          nothing: null,
        });
      } finally {
        await client.end();
      }
    });

    it("streams a result the gateway stored behind a resultUrl as DataRows", async () => {
      const client = nodeClient();
      await client.connect();
      try {
        const notices: string[] = [];
        client.on("notice", (n) => notices.push(n.message ?? ""));
        const result = await client.query(
          "SELECT id, admitted_at, notes FROM encounters WHERE id BETWEEN 1 AND $1 ORDER BY id",
          // Under the demo's bulk-read threshold (1,000 rows by the planner's estimate), above the inline limit.
          [900],
        );
        expect(result.rows.map((r) => r.id)).toEqual(Array.from({ length: 900 }, (_, i) => i + 1));
        expect(result.rows[0].admitted_at).toMatch(/^\d{4}$/);
        const sessionId = /session (ses_\w+)/.exec(notices.join(" "))?.[1] ?? "";
        const view = await gw.request("GET", `/v1/sessions/${sessionId}`, { token: await gw.token(NIGHTLY) });
        expect(view.body.result.resultUrl).toMatch(/\/objects\//);
      } finally {
        await client.end();
      }
    });

    it("fetches a statement in row-limited pieces (portal suspension) with pg-cursor", async () => {
      const client = nodeClient();
      await client.connect();
      try {
        const cursor = client.query(
          new Cursor("SELECT id, department FROM encounters WHERE id BETWEEN 1 AND $1 ORDER BY id", [5]),
        );
        const first = await cursor.read(2);
        const second = await cursor.read(2);
        const rest = await cursor.read(10);
        expect([...first, ...second, ...rest].map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
        expect(first).toHaveLength(2);
        await cursor.close();
      } finally {
        await client.end();
      }
    });

    it("rejects a denied statement with the gateway's code and SQLSTATE, and keeps transaction state honest", async () => {
      const client = nodeClient();
      await client.connect();
      try {
        const denied = await client.query(DENIED_SQL).catch((e: pg.DatabaseError) => e);
        expect(denied).toMatchObject({ code: "42501", message: expect.stringMatching(/^policy_denied: /) });
        await client.query("BEGIN");
        await client.query(DENIED_SQL).catch(() => undefined);
        const aborted = await client.query("SELECT 1").catch((e: pg.DatabaseError) => e);
        expect(aborted).toMatchObject({ code: "25P02" });
        await client.query("ROLLBACK");
        expect((await client.query("SELECT 2 AS two")).rows).toEqual([{ two: 2 }]);
      } finally {
        await client.end();
      }
    });

    it("waits for an approver (NOTICEs name the approval) and then returns the masked rows", async () => {
      const client = nodeClient();
      await client.connect();
      try {
        const notices: string[] = [];
        client.on("notice", (n) => notices.push(n.message ?? ""));
        const running = client.query(RISKY_SMALL_SQL, ["1%"]);
        const approvalId = await approveNext();
        const result = await running;
        expect(result.rows).toHaveLength(20);
        expect(result.rows[0]).toMatchObject({
          id: 1,
          ssn: "[REDACTED]",
          mrn: expect.stringMatching(/^mrn_[0-9a-f]{24}$/),
        });
        expect(JSON.stringify(result.rows)).not.toMatch(RAW_SSN);
        expect(notices[0]).toContain(`needs approval ${approvalId}`);
        expect(notices[0]).toContain(`${gw.url}/approvals/${approvalId}`);
      } finally {
        await client.end();
      }
    });

    it("cancels a statement waiting for approval (CancelRequest) and leaves the approval open", async () => {
      const client = nodeClient();
      await client.connect();
      try {
        const running = client.query(RISKY_SMALL_SQL, ["2%"]).catch((e: pg.DatabaseError) => e);
        const approvalId = await nextApproval();
        const keys = client as unknown as { processID: number; secretKey: number };
        await sendCancelRequest(proxy.port, keys.processID, keys.secretKey);
        const error = await running;
        expect(error).toMatchObject({
          code: "57014",
          hint: expect.stringContaining(`Approval ${approvalId} stays open`),
        });
        const view = await gw.request(
          "GET",
          `/v1/sessions/${(error as pg.DatabaseError).detail?.split(" ")[2]}`,
          {
            token: await gw.token(NIGHTLY),
          },
        );
        expect(view.body.status).toBe("pending_approval");
      } finally {
        await client.end();
      }
    });
  });

  describeWithClient("psycopg2", "psycopg2", () => {
    const python = (sql: string, params?: unknown[]): Promise<Finished> =>
      run(PYTHON_WITH_PSYCOPG2 ?? "python3", ["-c", PSYCOPG_SCRIPT], {
        PORT: String(proxy.port),
        PASSWORD: password,
        SQL: sql,
        ...(params === undefined ? {} : { PARAMS: JSON.stringify(params) }),
      });

    it("reads masked values inside the transaction psycopg2 opens, parameters interpolated", async () => {
      const out = await python(
        "SELECT id, ssn, dob FROM patients WHERE id BETWEEN 1 AND %s ORDER BY id",
        [2],
      );
      expect(out.stderr).toBe("");
      const result = JSON.parse(out.stdout);
      expect(result.columns).toEqual(["id", "ssn", "dob"]);
      expect(result.rows).toEqual([
        [1, "[REDACTED]", "1964"],
        [2, "[REDACTED]", "<=1936"],
      ]);
      expect(result.notices.join("")).toMatch(/masked column\(s\): ssn \(redact\)/);
    });

    it("raises a denied statement as a psycopg2 error with SQLSTATE 42501", async () => {
      const result = JSON.parse((await python(DENIED_SQL)).stdout);
      expect(result.pgcode).toBe("42501");
      expect(result.error).toMatch(/^ERROR: {2}policy_denied: protected column public\.patients\.ssn/);
    });

    it("waits for an approver and then fetches the masked rows", async () => {
      const running = python(RISKY_LITERAL_SQL);
      const approvalId = await approveNext();
      const result = JSON.parse((await running).stdout);
      expect(result.rows).toHaveLength(20);
      expect(JSON.stringify(result.rows)).not.toMatch(RAW_SSN);
      expect(result.notices.join("")).toContain(`needs approval ${approvalId}`);
    });
  });
});
