// The log commands as an auditor runs them: verify-evidence --previous and verify-session, with their exit statuses.

import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import { principalFromClaims } from "#shared/identity/principal.ts";
import { sessionProof } from "#shared/log/session-proof.ts";
import { parsePolicy } from "#shared/policy/load.ts";
import { type EvidenceFixture, openEvidenceFixture, TEST_POLICY } from "#test/support/evidence-fixture.ts";

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

describe("phigate verify-evidence --previous and verify-session", () => {
  let f: EvidenceFixture;
  let fingerprint: string;
  let scratch: string;
  beforeEach(async () => {
    f = await openEvidenceFixture();
    fingerprint = (await f.signer.publicKey()).fingerprint;
    scratch = await mkdtemp(join(tmpdir(), "phigate-log-cli-"));
  });
  afterEach(async () => {
    await f.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it("verify-evidence --previous proves a later bundle extends an earlier one, and refuses a previous that does not verify", async () => {
    const record = await f.completed();
    const cut = f.clock.now();
    await f.rejected();
    const from = new Date(f.start.getTime() - 60_000);
    const old = (await buildEvidenceBundle(f.deps, from, cut)).location;
    const next = (await buildEvidenceBundle(f.deps, cut, new Date(f.start.getTime() + 600_000))).location;
    const ok = await phigate("verify-evidence", next, "--trusted-key", fingerprint, "--previous", old);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("log         leaves 2–2 of phigate.log/");
    expect(ok.stdout).toContain("extends the previous bundle's checkpoint of size 2");
    await writeFile(join(old, "extra.txt"), "x");
    const bad = await phigate("verify-evidence", next, "--trusted-key", fingerprint, "--previous", old);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^FAIL previous_bundle: --previous .* does not verify \(file_unexpected/);
    expect(record.sessionId).toMatch(/^ses_/);
  }, 120_000);

  it("verify-session exits 0 for an intact proof, 1 for a tampered one, 2 without a trusted key", async () => {
    const record = await f.completed();
    const auditor = principalFromClaims(
      { iss: "https://idp.test/", sub: "audrey", aud: "phigate", exp: 0, groups: ["auditors"] },
      "groups",
    );
    const policy = parsePolicy(TEST_POLICY, "test policy");
    const deps = {
      ...f.deps,
      policy: { current: () => policy, context: { devIssuer: undefined } },
    } as unknown as Parameters<typeof sessionProof>[0];
    const proof = await sessionProof(deps, auditor, record.sessionId, undefined);
    const file = join(scratch, "proof.json");
    await writeFile(file, JSON.stringify(proof));
    const ok = await phigate("verify-session", file, "--trusted-key", fingerprint);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK {2}session ses_\w+ verifies/);
    expect(ok.stdout).toContain("versions    2:");
    expect(ok.stdout).toContain("last        version 2 is completed (final)");
    // Cut short at its first (running) version, the proof still verifies (inclusion shows presence, not that
    // nothing follows) — the verifier says the session is not shown to have ended (found by an outside attacker).
    await writeFile(file, JSON.stringify({ ...proof, versions: proof.versions.slice(0, 1) }));
    const cut = await phigate("verify-session", file, "--trusted-key", fingerprint);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stdout).toContain(
      "last        version 1 is running, not final: this proof does not show how the session ended",
    );
    const tampered = structuredClone(proof);
    await writeFile(
      file,
      JSON.stringify({ ...tampered, versions: [tampered.versions[1], tampered.versions[0]] }),
    );
    const bad = await phigate("verify-session", file, "--trusted-key", fingerprint);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("FAIL version_missing");
    expect((await phigate("verify-session", file)).code).toBe(2);
  }, 120_000);
});
