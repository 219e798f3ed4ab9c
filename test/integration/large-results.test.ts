// Large results end to end over HTTP: 200,000 masked rows streamed to the store as gzip NDJSON against a
// PostgreSQL server, checked by row count, recorded digest, served bytes, and absence of raw identifiers.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseResultHeader, STREAMED_RESULT_CONTENT_TYPE } from "#shared/sessions/result-format.ts";
import { exportPolicy } from "#test/support/export-policy.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import {
  describeWithPostgres,
  type PostgresServer,
  startPostgresServer,
} from "#test/support/postgres-server.ts";
import { seedEhr } from "#tools/ehr/seed.ts";

const ROWS = 200_000;
const EXPORT_SQL =
  "SELECT e.id, e.department, e.diagnosis_code, e.admitted_at, e.notes, p.mrn, p.ssn, p.zip, p.dob " +
  "FROM encounters e JOIN patients p ON p.id = e.patient_id";

describeWithPostgres("a 200,000-row export through the gateway (PostgreSQL server)", () => {
  let server: PostgresServer;
  let gw: TestGateway;
  let token: string;
  const rawSsns = new Set<string>();
  const rawMrns = new Set<string>();

  beforeAll(async () => {
    server = await startPostgresServer({ database: "ehr" });
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await seedEhr(client, { patients: 35_000, encounters: ROWS, medications: 1_000 });
      const { rows } = await client.query<{ ssn: string; mrn: string }>("SELECT ssn, mrn FROM patients");
      for (const row of rows) {
        rawSsns.add(row.ssn);
        rawMrns.add(row.mrn);
      }
    } finally {
      await client.end();
    }
    gw = await startTestGateway({ databaseUrl: server.url, policy: exportPolicy(ROWS + 1) });
    token = await gw.token(NIGHTLY);
  });
  afterAll(async () => {
    await gw?.close();
    await server?.stop();
  });

  it("streams every row masked into one stored object whose digest the session records and the link serves", async () => {
    const answer = await gw.query(token, { sql: EXPORT_SQL, purpose: "bulk export test" });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "completed", rowCount: ROWS, truncated: false, rows: [] });
    const resultUrl: string = answer.body.resultUrl;
    expect(resultUrl).toMatch(/\/objects\/results\/.+\.ndjson\.gz\?expires=\d+&signature=[0-9a-f]{64}$/);

    const record = await gw.host.deps.sessions.get(answer.body.sessionId);
    expect(record?.status).toBe("completed");
    const object = record?.result?.object;
    expect(record?.result?.delivery).toBe("url");
    expect(object?.contentType).toBe(STREAMED_RESULT_CONTENT_TYPE);
    expect(answer.body.resultSha256).toBe(object?.sha256);

    const stored = await readFile(join(gw.dataDir, "objects", object?.key ?? "missing"));
    expect(createHash("sha256").update(stored).digest("hex")).toBe(object?.sha256);
    expect(stored.length).toBe(object?.size);

    // (Before the CPU-heavy checks below: they block this process, which also runs the gateway.)
    const view = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}`, { token });
    expect(view.status).toBe(200);
    expect(view.body.result).toMatchObject({ rowCount: ROWS, rows: [], resultSha256: object?.sha256 });
    expect(view.body.result.resultUrl).toMatch(/\.ndjson\.gz\?expires=/);

    const served = Buffer.from(await (await fetch(resultUrl)).arrayBuffer());
    expect(createHash("sha256").update(served).digest("hex")).toBe(object?.sha256);

    const text = gunzipSync(served).toString("utf8");
    const lines = text.split("\n");
    expect(lines.at(-1)).toBe("");
    expect(lines.length - 2).toBe(ROWS);
    const header = parseResultHeader(lines[0] ?? "");
    expect(header.sessionId).toBe(answer.body.sessionId);
    expect(header.columns.map((c) => [c.name, c.masking?.strategy ?? null])).toEqual([
      ["id", null],
      ["department", "detect"],
      ["diagnosis_code", "detect"],
      ["admitted_at", "generalize"],
      ["notes", "detect"],
      ["mrn", "tokenize"],
      ["ssn", "redact"],
      ["zip", "generalize"],
      ["dob", "generalize"],
    ]);
    expect(header.columns).toEqual(answer.body.columns);

    const leakedSsns = (text.match(/\d{3}-\d{2}-\d{4}/g) ?? []).filter((v) => rawSsns.has(v));
    const leakedMrns = (text.match(/MRN-\d{7}/g) ?? []).filter((v) => rawMrns.has(v));
    expect(leakedSsns).toEqual([]);
    expect(leakedMrns).toEqual([]);
    const rawMrnDigits = new Set([...rawMrns].map((mrn) => mrn.slice(4)));
    const bareMrns = (text.match(/\b\d{7}\b/g) ?? []).filter((v) => rawMrnDigits.has(v));
    expect(bareMrns).toEqual([]);
    expect(gw.logs.some((line) => line.includes(EXPORT_SQL))).toBe(false);
  });

  it("answers a statement that fails on a later page of a streamed result with its error, and keeps serving the caller", async () => {
    // The twenty-ninth outside attack: past the inline limit the writer awaits gzip, the next page's error arrived
    // meanwhile and the cursor's close then waited forever; each such request hung and kept one of the caller's
    // connection slots, so a handful locked the whole principal out.
    const failing =
      "SELECT g, repeat('x', 1000) AS pad, 1 / (g - 9001) AS boom FROM generate_series(1, 10000) g";
    for (let i = 0; i < 6; i++) {
      const answer = await gw.query(token, { sql: failing });
      expect(answer.status).toBe(422);
      expect(answer.body.error.message).toContain("22012");
    }
    const after = await gw.query(token, { sql: "SELECT count(*) FROM patients" });
    expect(after.status).toBe(200);
  });

  it("refuses a row or a page past the gateway's limits and a JSON value it cannot carry, then serves the caller", async () => {
    // The thirty-first outside attack: JSON that decodes to millions of objects crashed the gateway's heap, one
    // 144 MB cell held every caller for 21 s, and a page of wide rows after narrow ones took 1,000 rows of them.
    const cases: [string, number, string][] = [
      [
        "SELECT ('[' || repeat('{},', 400000) || '{}]')::json AS j FROM generate_series(1, 80)",
        422,
        "row_too_large",
      ],
      ["SELECT repeat('a1 555-0100 ', 800000) AS w", 422, "row_too_large"],
      [
        "SELECT g, CASE WHEN g > 128 THEN repeat('x', 100000) END AS w FROM generate_series(1, 1128) g",
        422,
        "page_too_large",
      ],
      // A value nested deeper than masking goes is the result's limit (a 422), not the database's 503.
      ["SELECT (repeat('[', 5000) || repeat(']', 5000))::json AS j", 422, "value_too_deep"],
      // A number JSON.parse would change past rounding (an infinity, another integer) is refused by name, not
      // returned changed (the thirty-second outside attack: `1e400` answered 500, `…993` came back `…992`).
      ["SELECT '[1e400]'::jsonb AS j", 422, "value_not_representable"],
      [`SELECT '{"id": 9007199254740993}'::json AS j`, 422, "value_not_representable"],
    ];
    for (const [sql, status, code] of cases) {
      const answer = await gw.query(token, { sql });
      expect([sql.slice(0, 40), answer.status, answer.body.error?.code]).toEqual([
        sql.slice(0, 40),
        status,
        code,
      ]);
    }
    const after = await gw.query(token, { sql: "SELECT count(*) FROM patients" });
    expect(after.status).toBe(200);
  });
});
