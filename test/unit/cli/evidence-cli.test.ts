// The evidence commands as an auditor runs them: verify-evidence's exit statuses and messages, evidence --data-dir offline.

import { execFile } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ANALYZER_VERSION } from "#shared/sql/analyzer-version.ts";
import { type EvidenceFixture, openEvidenceFixture, rewrite } from "#test/support/evidence-fixture.ts";

const run = promisify(execFile);
const BIN = resolve("bin/phigate.mjs");

async function phigate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, PHIGATE_URL: "http://127.0.0.1:9" },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("phigate verify-evidence and evidence --data-dir", () => {
  let f: EvidenceFixture;
  let fingerprint: string;
  beforeEach(async () => {
    f = await openEvidenceFixture();
    await f.completed();
    await f.rejected();
    fingerprint = (await f.signer.publicKey()).fingerprint;
  });
  afterEach(async () => {
    await f.close();
  });

  it("exits 0 with a summary, and warns when no trusted key was given", async () => {
    const bundle = (await f.build()).location;
    const trusted = await phigate("verify-evidence", bundle, "--trusted-key", fingerprint);
    expect(trusted.code).toBe(0);
    expect(trusted.stdout).toMatch(/^OK {2}evidence bundle evb_\w+ verifies/);
    expect(trusted.stdout).toContain("matches --trusted-key");
    expect(trusted.stdout).toContain(
      "reanalysis  1 of 1 export(s) analyzed again from their SQL text: same decision and masking",
    );
    expect(trusted.stdout).toContain(
      `analyzer    ${ANALYZER_VERSION} (this verifier); the bundle was built by analyzer ${ANALYZER_VERSION}`,
    );
    expect(trusted.stdout).toContain("catalogs    1 snapshot(s)");
    expect(trusted.stderr).toBe("");
    const untrusted = await phigate("verify-evidence", bundle);
    expect(untrusted.code).toBe(0);
    expect(untrusted.stderr).toContain("can only be caught with --trusted-key");
  });

  it("exits 1 naming the first class of an integrity problem, 3 for a recorded violation, 2 on usage", async () => {
    const bundle = (await f.build()).location;
    await rewrite(join(bundle, "sessions.jsonl"), (t) =>
      t.replace('"SELECT id, department', '"SELECT id, departmenu'),
    );
    const tampered = await phigate("verify-evidence", bundle, "--trusted-key", fingerprint);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/^FAIL record_altered: sessions.jsonl line 1 \(seq 1\)/);
    await f.completed({ columns: ["id", "notes"] });
    const violating = (await f.build()).location;
    const violation = await phigate("verify-evidence", violating, "--trusted-key", fingerprint);
    expect(violation.code).toBe(3);
    expect(violation.stderr).toMatch(/^FAIL unauthorized_column: /);
    expect((await phigate("verify-evidence")).code).toBe(2);
    expect((await phigate("verify-evidence", bundle, "--trusted-key", "nope")).code).toBe(2);
    const json = await phigate("verify-evidence", bundle, "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      status: 1,
      problems: [{ class: "record_altered" }],
    });
  });

  it("exits 3 for an export the current analyzer and rules would have masked otherwise", async () => {
    await f.completed({
      columns: ["id", "diagnosis_code"],
      masking: [null, null],
      constant: ["diagnosis_code"],
    });
    const faulty = (await f.build()).location;
    const reanalysis = await phigate("verify-evidence", faulty, "--trusted-key", fingerprint);
    expect(reanalysis.code).toBe(3);
    expect(reanalysis.stderr).toMatch(
      /^FAIL reanalysis: session ses_\w+ \(recorded by analyzer \d+; re-analyzed by analyzer \d+\) column "diagnosis_code" was masked as nothing/,
    );
    expect(reanalysis.stderr).toContain(`(analyzer ${ANALYZER_VERSION}; the bundle was built by analyzer`);
  });

  it("builds a bundle offline from a DATA_DIR, and refuses while a gateway holds it", async () => {
    const from = new Date(f.start.getTime() - 60_000).toISOString();
    const to = new Date(f.start.getTime() + 600_000).toISOString();
    const built = await phigate("evidence", "--from", from, "--to", to, "--data-dir", f.dir);
    expect(built.code).toBe(0);
    const answer = JSON.parse(built.stdout);
    expect(answer).toMatchObject({ keyFingerprint: fingerprint, entries: 3 });
    expect(answer.location).toContain(join(f.dir, "evidence"));
    expect((await phigate("verify-evidence", answer.location, "--trusted-key", fingerprint)).code).toBe(0);
    // Without --to, the range ends now: the same three entries.
    const untilNow = await phigate("evidence", "--from", from, "--data-dir", f.dir);
    expect(untilNow.code).toBe(0);
    expect(JSON.parse(untilNow.stdout)).toMatchObject({ keyFingerprint: fingerprint, entries: 3 });
    await writeFile(join(f.dir, "phigate.pid"), `${process.pid}\n`);
    await chmod(join(f.dir, "phigate.pid"), 0o600);
    const locked = await phigate("evidence", "--from", from, "--to", to, "--data-dir", f.dir);
    expect(locked.code).toBe(4);
    expect(locked.stderr).toMatch(/another phigate \(pid \d+\) is using/);
    expect((await phigate("evidence", "--from", "yesterday", "--to", to, "--data-dir", f.dir)).code).toBe(2);
  });
});
