// Streamed results on the embedded database: the inline/URL switch over HTTP, replays and session views of URL
// results, and fail-closed behaviour when masking or the store fails mid-stream (no resultUrl, session failed,
// no object left).

import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ObjectStore, SqlExecutor } from "#shared/ports.ts";
import { parseResultHeader } from "#shared/sessions/result-format.ts";
import { exportPolicy } from "#test/support/export-policy.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

const execFileAsync = promisify(execFile);
const EXPORT_SQL = "SELECT id, department, notes FROM encounters ORDER BY id LIMIT 20000";

async function resultFiles(gw: TestGateway): Promise<string[]> {
  const dir = join(gw.dataDir, "objects", "results");
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

describe("streamed results on the embedded database", () => {
  let gw: TestGateway;
  let token: string;
  const faults = { badPageAt: 0, storeFailsAfterChunks: 0 };

  beforeAll(async () => {
    gw = await startTestGateway({
      policy: exportPolicy(100_000),
      wrapDeps: (deps) => {
        const executor: SqlExecutor = {
          estimateRows: (sql, params, timeoutMs) => deps.executor.estimateRows(sql, params, timeoutMs),
          loadCatalog: () => deps.executor.loadCatalog(),
          close: () => deps.executor.close(),
          execute(request, sink) {
            let page = 0;
            return deps.executor.execute(request, {
              columns: (columns) => sink.columns(columns),
              rows: (rows) => {
                page++;
                // A row of the wrong width: the masker must refuse the page and stop the statement.
                return sink.rows(page === faults.badPageAt ? [...rows, [1]] : rows);
              },
            });
          },
        };
        const objects: ObjectStore = {
          get: (key) => deps.objects.get(key),
          readUrl: (key, ttl) => deps.objects.readUrl(key, ttl),
          put(key, body, contentType) {
            const limit = faults.storeFailsAfterChunks;
            if (limit === 0 || body instanceof Uint8Array) return deps.objects.put(key, body, contentType);
            async function* failing(): AsyncIterable<Uint8Array> {
              let n = 0;
              for await (const chunk of body as AsyncIterable<Uint8Array>) {
                if (++n > limit) throw new Error("disk full");
                yield chunk;
              }
            }
            return deps.objects.put(key, failing(), contentType);
          },
        };
        return { ...deps, executor, objects, results: { pageSize: 500, inlineMaxBytes: 64 * 1024 } };
      },
    });
    token = await gw.token(NIGHTLY);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("answers a small result inline, as before", async () => {
    const answer = await gw.query(token, {
      sql: "SELECT id, department FROM encounters ORDER BY id LIMIT 10",
    });
    expect(answer.status).toBe(200);
    expect(answer.body.rows).toHaveLength(10);
    expect(answer.body.resultUrl).toBeUndefined();
  });

  it("streams a result past the inline limit and serves it through a signed link; retries and views re-sign it", async () => {
    const answer = await gw.query(token, { sql: EXPORT_SQL }, { "idempotency-key": "stream-1" });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ rowCount: 20_000, truncated: false, rows: [] });
    const served = Buffer.from(await (await fetch(answer.body.resultUrl)).arrayBuffer());
    const lines = gunzipSync(served).toString("utf8").trimEnd().split("\n");
    expect(parseResultHeader(lines[0] ?? "").columns.map((c) => c.name)).toEqual([
      "id",
      "department",
      "notes",
    ]);
    expect(lines).toHaveLength(20_001);
    expect(JSON.parse(lines[1] ?? "")[0]).toBe(1);
    expect(JSON.parse(lines[20_000] ?? "")[0]).toBe(20_000);

    const retry = await gw.query(token, { sql: EXPORT_SQL }, { "idempotency-key": "stream-1" });
    expect(retry.status).toBe(200);
    expect(retry.body.sessionId).toBe(answer.body.sessionId);
    expect(retry.body.resultSha256).toBe(answer.body.resultSha256);
    expect(retry.body.resultUrl).toMatch(/\.ndjson\.gz\?expires=\d+&signature=/);
    const again = Buffer.from(await (await fetch(retry.body.resultUrl)).arrayBuffer());
    expect(again.equals(served)).toBe(true);

    const replay = await gw.request("GET", `/v1/sessions/${answer.body.sessionId}/replay`, { token });
    expect(replay.status).toBe(200);
    expect(replay.body.exchange.response).toMatchObject({
      integrity: "verified",
      delivery: "url",
      rowCount: 20_000,
      rowsShown: 1_000,
    });
    expect(replay.body.exchange.response.rows[999][0]).toBe(1_000);
  });

  it("phigate query downloads, checks and prints a streamed result as CSV, progress on stderr", async () => {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ["bin/phigate.mjs", "query", EXPORT_SQL, "--format", "csv", "--url", gw.url, "--token", token],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const lines = stdout.split("\r\n");
    expect(lines[0]).toBe("id,department,notes");
    expect(lines.at(-1)).toBe("");
    expect(lines).toHaveLength(20_002);
    expect(lines[20_000]?.startsWith("20000,")).toBe(true);
    expect(stderr).toMatch(/downloaded \d+\.\d MiB, 20,000 rows/);
    expect(stderr).toMatch(/20000 row\(s\)/);
  });

  it("caps a streamed result at the policy's row limit and says so", async () => {
    const capped = await startTestGateway({
      policy: exportPolicy(5_000),
      wrapDeps: (deps) => ({ ...deps, results: { pageSize: 500, inlineMaxBytes: 16 * 1024 } }),
    });
    try {
      const nightly = await capped.token(NIGHTLY);
      const answer = await capped.query(nightly, { sql: EXPORT_SQL });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ rowCount: 5_000, truncated: true });
      const served = Buffer.from(await (await fetch(answer.body.resultUrl)).arrayBuffer());
      expect(gunzipSync(served).toString("utf8").trimEnd().split("\n")).toHaveLength(5_001);
    } finally {
      await capped.close();
    }
  });

  it("fails closed when masking fails mid-stream: no resultUrl, the session failed, no object", async () => {
    const before = await resultFiles(gw);
    faults.badPageAt = 10;
    try {
      const answer = await gw.query(token, { sql: EXPORT_SQL });
      expect(answer.status).toBe(500);
      expect(answer.body.error.code).toBe("masking_failed");
      expect(answer.text).not.toContain("resultUrl");
      const record = await gw.host.deps.sessions.get(answer.body.error.sessionId);
      expect(record?.status).toBe("failed");
      expect(record?.result).toBeNull();
      expect(await resultFiles(gw)).toEqual(before);
    } finally {
      faults.badPageAt = 0;
    }
  });

  it("fails closed when the store fails mid-upload: 503, the session failed, no object", async () => {
    const before = await resultFiles(gw);
    faults.storeFailsAfterChunks = 1;
    try {
      const answer = await gw.query(token, { sql: EXPORT_SQL });
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe("store_unavailable");
      expect(answer.text).not.toContain("resultUrl");
      const record = await gw.host.deps.sessions.get(answer.body.error.sessionId);
      expect(record?.status).toBe("failed");
      expect(await resultFiles(gw)).toEqual(before);
    } finally {
      faults.storeFailsAfterChunks = 0;
    }
    const after = await gw.query(token, { sql: EXPORT_SQL });
    expect(after.status).toBe(200);
  });
});
