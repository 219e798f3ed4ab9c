// Evidence that does not trust the analysis it certifies: a real gateway with a deliberately faulty analyzer returns
// an SSN without its rule and records that as correct; verify-evidence, re-analyzing the SQL text, exits 3.

import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HandlerDeps } from "#shared/http/route.ts";
import type { StatementAnalyzer } from "#shared/ports.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

const run = promisify(execFile);
const BIN = resolve("bin/phigate.mjs");
const SQL = "SELECT id, ssn FROM patients ORDER BY id LIMIT 3";

/** While `faulty.on`, the analyzer claims every output copied from patients.ssn is a constant (no lineage). */
const faulty = { on: false };

function weakened(analyzer: StatementAnalyzer): StatementAnalyzer {
  return {
    catalog: () => analyzer.catalog(),
    async analyze(sql) {
      const analyzed = await analyzer.analyze(sql);
      if (!faulty.on) return analyzed;
      const { classification } = analyzed;
      const outputs = classification.outputs.map((o) =>
        o.sources.some((s) => s.table === "patients" && s.column === "ssn")
          ? { ...o, kind: "constant" as const, sources: [], transforms: [] }
          : o,
      );
      return { ...analyzed, classification: { ...classification, outputs } };
    },
  };
}

async function verifyEvidence(bundle: string, key: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, "verify-evidence", bundle, "--trusted-key", key]);
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, out: e.stderr };
  }
}

describe("verify-evidence re-analyzes what the gateway recorded", () => {
  let gw: TestGateway;
  let nightly: string;
  let auditor: string;
  let fingerprint: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      wrapDeps: (deps: HandlerDeps) => ({ ...deps, analyzer: weakened(deps.analyzer) }),
    });
    nightly = await gw.token(NIGHTLY);
    auditor = await gw.token("audrey", { groups: ["auditors"] });
    fingerprint = (await gw.host.deps.signer.publicKey()).fingerprint;
  });
  afterAll(async () => {
    await gw?.close();
  });

  async function bundleOf(query: () => Promise<void>): Promise<string> {
    const from = new Date(Date.now() - 1).toISOString();
    await query();
    const to = new Date(Date.now() + 1).toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const created = await gw.request("POST", "/v1/evidence-bundles", { token: auditor, body: { from, to } });
    expect(created.status).toBe(201);
    return created.body.location as string;
  }

  it("archives the catalog, verifies an honest session (0), and fails a leak its analyzer hid (3, reanalysis)", async () => {
    const honest = await bundleOf(async () => {
      const answer = await gw.query(nightly, { sql: SQL });
      expect(answer.status).toBe(200);
      expect(answer.body.columns[1]).toMatchObject({ name: "ssn", masking: { strategy: "redact" } });
    });
    const archived = await readdir(join(gw.dataDir, "catalogs"));
    expect(archived).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.json$/)]);
    expect(await readdir(join(honest, "catalogs"))).toEqual(archived);
    const ok = await verifyEvidence(honest, fingerprint);
    expect(ok.out).toMatch(/^OK {2}evidence bundle/);
    expect(ok.out).toContain("reanalysis  1 of 1 export(s)");
    expect(ok.code).toBe(0);

    faulty.on = true;
    const hidden = await bundleOf(async () => {
      const answer = await gw.query(nightly, { sql: SQL });
      expect(answer.status).toBe(200);
      // The faulty analysis kept the ssn rule off the column (what the session then records); only the
      // detectors' second line stood between the SSNs and the caller.
      expect(answer.body.columns[1].masking).toEqual({ rule: "detectors", strategy: "detect" });
      for (const row of answer.body.rows) expect(row[1]).toBe("[SSN]");
    });
    faulty.on = false;
    const failed = await verifyEvidence(hidden, fingerprint);
    expect(failed.out).toMatch(
      /^FAIL reanalysis: session ses_\w+ \(recorded by analyzer \d+; re-analyzed by analyzer \d+\) column "ssn" was masked as [^;]+; re-analyzed, policy [0-9a-f]{12} requires redact \(public\.patients\.ssn\)/,
    );
    expect(failed.out).not.toMatch(/masking_mismatch|unauthorized_column/);
    expect(failed.code).toBe(3);
  });
});
