// Policy continuity in evidence: each policy change is a chain entry of its own, bundled as a timeline with a diff,
// and `verify-evidence --policy FILE` checks every export against the policy the auditor expects.

import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileSessionStore } from "#infra/local/adapters/file-session-store.ts";
import { verifyBundle } from "#shared/evidence/verify-bundle.ts";
import { parsePolicy } from "#shared/policy/load.ts";
import { isPolicyChange, localPolicyChanger } from "#shared/sessions/policy-change.ts";
import {
  type EvidenceFixture,
  openEvidenceFixture,
  rewrite,
  TEST_POLICY,
} from "#test/support/evidence-fixture.ts";

const run = promisify(execFile);
const BIN = resolve("bin/phigate.mjs");

/** The fixture's policy under the same name, without the masking rule on diagnosis_code. */
const WEAKENED = TEST_POLICY.replace(
  "  rules:\n    public.encounters.diagnosis_code: { strategy: redact }\n",
  "  rules: {}\n",
);

async function phigate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("policy changes in the chain and in evidence", () => {
  let f: EvidenceFixture;
  let weakDigest: string;
  const by = localPolicyChanger("/etc/phigate/policy.yaml");

  beforeEach(async () => {
    f = await openEvidenceFixture();
    expect(WEAKENED).not.toBe(TEST_POLICY);
    weakDigest = await f.policies.put(WEAKENED);
    await f.sessions.recordPolicy({ name: "evidence-test", digest: f.policyDigest }, by);
    await f.completed({
      columns: ["id", "diagnosis_code"],
      masking: [null, { rule: "public.encounters.diagnosis_code", strategy: "redact" }],
    });
    // The restart with a weaker policy under the same name (finding 1): SSN-like data comes back raw.
    await f.sessions.recordPolicy({ name: "evidence-test", digest: weakDigest }, by);
    const weak = { name: "evidence-test", digest: weakDigest };
    await f.completed(
      { columns: ["id", "diagnosis_code"] },
      {
        decision: {
          outcome: "allow",
          reasons: ["granted to reporter"],
          rules: ["grants"],
          policy: weak,
          matchedPrincipal: "reporter",
          limits: { maxRows: 10, timeoutMs: 1000 },
          matchContext: { devIssuer: null },
        },
      },
    );
  });
  afterEach(async () => {
    await f.close();
  });

  it("records a change once, with who and the policy before it, across a restart of the store", async () => {
    expect(await f.sessions.recordPolicy({ name: "evidence-test", digest: weakDigest }, by)).toBeUndefined();
    // A second reader of the same journal (the store the fixture holds stays open and idle).
    const reopened = await FileSessionStore.open({ directory: join(f.dir, "sessions") });
    try {
      expect(await reopened.recordPolicy({ name: "evidence-test", digest: weakDigest }, by)).toBeUndefined();
      const changes = [];
      for await (const entry of reopened.entries("0000-00-00", "9999-12-31"))
        if (isPolicyChange(entry.record)) changes.push(entry.record);
      expect(changes).toEqual([
        {
          schema: "phigate.policy-change/v1",
          from: null,
          to: { name: "evidence-test", digest: f.policyDigest },
          by,
        },
        {
          schema: "phigate.policy-change/v1",
          from: { name: "evidence-test", digest: f.policyDigest },
          to: { name: "evidence-test", digest: weakDigest },
          by,
        },
      ]);
      expect(by.name).toMatch(/\(uid \d+\) on /);
    } finally {
      await reopened.close();
    }
  });

  it("bundles every change as a timeline, both policies, and a report that puts the weakened masking first", async () => {
    const built = await f.build();
    expect(built.manifest.schema).toBe("phigate.evidence-bundle/v3");
    expect(built.manifest.counts.policyChanges).toBe(2);
    expect(built.manifest.policyChanges?.map((c) => [c.from?.digest ?? null, c.to.digest])).toEqual([
      [null, f.policyDigest],
      [f.policyDigest, weakDigest],
    ]);
    expect(built.manifest.policies.map((p) => p.digest).sort()).toEqual([f.policyDigest, weakDigest].sort());
    const report = await readFile(join(built.location, "report.html"), "utf8");
    expect(report.indexOf("Policy changes in this range")).toBeGreaterThan(0);
    expect(report.indexOf("Policy changes in this range")).toBeLessThan(
      report.indexOf("1. Who accessed PHI"),
    );
    expect(report).toContain(
      "<b>Finding:</b> 1 policy change(s) in this range altered masking or grants, 1 of them under the same policy name",
    );
    expect(report).toContain("- masking.rules[public.encounters.diagnosis_code]:");
    expect(report).toContain("Different policies share the name evidence-test");

    const plain = await verifyBundle(built.location);
    expect(plain.problems).toEqual([]);
    const change = plain.facts?.policyChanges[1];
    expect(change?.differences).toEqual([
      expect.objectContaining({
        path: "masking.rules[public.encounters.diagnosis_code]",
        change: "removed",
        area: "masking",
      }),
    ]);
  });

  it("verify-evidence --policy FILE reports the export the expected policy would have masked (exit 3)", async () => {
    const built = await f.build();
    const expected = await verifyBundle(built.location, {
      expectedPolicy: parsePolicy(TEST_POLICY, "expected.yaml"),
    });
    expect(expected.ok).toBe(false);
    // Under the expected policy the column is PHI: masked, and counted in the caller's window as well.
    expect(expected.problems.map((p) => p.class)).toEqual(["masking_mismatch", "reanalysis"]);
    expect(expected.problems[0]?.message).toMatch(
      /column "diagnosis_code" unmasked; policy [0-9a-f]{12} requires redact/,
    );
    expect(expected.problems[1]?.message).toMatch(
      /returns rows of PHI table\(s\) public\.encounters its record did not count them against/,
    );
    expect(expected.facts?.expectedPolicy).toEqual({
      name: "evidence-test",
      digest: f.policyDigest,
      exportsCitingOthers: 1,
    });

    const file = join(f.dir, "expected.yaml");
    await writeFile(file, TEST_POLICY);
    const cli = await phigate("verify-evidence", built.location, "--policy", file);
    expect(cli.code).toBe(3);
    expect(cli.stderr).toMatch(
      /^FAIL masking_mismatch: session ses_\w+ returned column "diagnosis_code" unmasked/,
    );
    const ok = await phigate("verify-evidence", built.location);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(
      "policies    2 cited; 2 change(s) recorded in the range, 1 of them to masking or grants",
    );
    expect(ok.stderr).toContain("- masking.rules[public.encounters.diagnosis_code]");
    const missing = await phigate("verify-evidence", built.location, "--policy", join(f.dir, "nope.yaml"));
    expect(missing.code).toBe(2);
  });

  it("catches a policy-change entry removed from the chain, or from a manifest", async () => {
    const built = await f.build();
    await rewrite(join(built.location, "sessions.jsonl"), (t) =>
      t
        .split("\n")
        .filter((line) => !line.includes(weakDigest) || !line.includes("phigate.policy-change/v1"))
        .join("\n"),
    );
    const v = await verifyBundle(built.location);
    expect(v.problems[0]?.class).toBe("record_missing");
    expect(v.problems.map((p) => p.class)).toContain("counts_mismatch");
  });
});
