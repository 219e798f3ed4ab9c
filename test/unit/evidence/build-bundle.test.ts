// Building evidence bundles from a real FileSessionStore: contents, manifest claims, refusals, and a clean verification.

import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { IntegrityError } from "#shared/errors.ts";
import { buildEvidenceBundle, checkRange } from "#shared/evidence/build-bundle.ts";
import { manifestSchema } from "#shared/evidence/bundle-format.ts";
import { verifyBundle } from "#shared/evidence/verify-bundle.ts";
import { CHAIN_GENESIS } from "#shared/sessions/chain.ts";
import { ANALYZER_VERSION } from "#shared/sql/analyzer-version.ts";
import { type EvidenceFixture, openEvidenceFixture, TEST_POLICY } from "#test/support/evidence-fixture.ts";

describe("buildEvidenceBundle", () => {
  let f: EvidenceFixture;
  beforeEach(async () => {
    f = await openEvidenceFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it("writes the chain of the range, approvals, policies, a report, a signed manifest — and it verifies", async () => {
    const a = await f.completed();
    await f.rejected();
    const c = await f.completed({ columns: ["department"] });
    const built = await f.build();
    expect(built.location).toBe(join(f.dir, "evidence", built.bundleId));
    const names = (await readdir(built.location, { recursive: true })).sort();
    expect(names).toEqual([
      "approvals.jsonl",
      "catalogs",
      `catalogs/${f.catalog.version}.json`,
      "log",
      "log/checkpoint-end.note",
      "log/checkpoint-start.note",
      "log/range.json",
      "manifest.json",
      "manifest.sig",
      "policies",
      `policies/${f.policyDigest}.yaml`,
      "public-key.pem",
      "report.html",
      "sessions.jsonl",
    ]);
    const manifestBytes = await readFile(join(built.location, "manifest.json"));
    const manifest = manifestSchema.parse(JSON.parse(manifestBytes.toString("utf8")));
    expect(manifest.chain).toEqual({
      genesis: CHAIN_GENESIS,
      anchor: CHAIN_GENESIS,
      first: { seq: 1, digest: expect.any(String) },
      last: { seq: 5, digest: expect.any(String) },
      entries: 5,
    });
    expect(manifest.counts).toEqual({
      entries: 5,
      sessions: 3,
      exports: 2,
      approvals: 0,
      policies: 1,
      catalogs: 1,
      policyChanges: 0,
      statuses: { completed: 2, rejected: 1 },
    });
    expect(manifest.results).toEqual({ verified: 2, missing: 0, mismatched: 0 });
    expect(manifest.policies).toEqual([
      { digest: f.policyDigest, name: "evidence-test", path: `policies/${f.policyDigest}.yaml`, sessions: 3 },
    ]);
    expect(manifest.analyzer).toEqual({ version: ANALYZER_VERSION });
    expect(manifest.catalogs).toEqual([
      {
        version: f.catalog.version,
        sha256: f.catalog.sha256,
        path: `catalogs/${f.catalog.version}.json`,
        sessions: 3,
      },
    ]);
    expect(manifest.signing.keyFingerprint).toBe((await f.signer.publicKey()).fingerprint);
    expect(manifest.files.map((file) => file.path)).toEqual([
      "approvals.jsonl",
      `catalogs/${f.catalog.version}.json`,
      "log/checkpoint-end.note",
      "log/checkpoint-start.note",
      "log/range.json",
      `policies/${f.policyDigest}.yaml`,
      "public-key.pem",
      "report.html",
      "sessions.jsonl",
    ]);
    for (const file of manifest.files) {
      const bytes = await readFile(join(built.location, file.path));
      expect({ path: file.path, sha256: sha256Hex(bytes), size: bytes.length }).toEqual(file);
    }
    expect(await readFile(join(built.location, `policies/${f.policyDigest}.yaml`), "utf8")).toBe(TEST_POLICY);
    expect(await readFile(join(built.location, `catalogs/${f.catalog.version}.json`))).toEqual(
      Buffer.from((await f.catalogs.get(f.catalog.version)) ?? []),
    );
    const lines = (await readFile(join(built.location, "sessions.jsonl"), "utf8")).trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3, 4, 5]);
    expect(lines.map((l) => (JSON.parse(l) as { record: { sessionId: string } }).record.sessionId)).toContain(
      c.sessionId,
    );
    const report = await readFile(join(built.location, "report.html"), "utf8");
    expect(report).toContain("1. Who accessed PHI");
    expect(report).toContain("2. Proof that only authorized fields were returned");
    expect(report).toContain("3. Evidence that each export was reviewed");
    expect(report).toContain(a.sessionId);
    expect(report).toContain(`analyzer ${ANALYZER_VERSION}`);
    expect(report).not.toContain("<script");
    const digest = createHash("sha256").update(manifestBytes).digest();
    expect(digest).toHaveLength(32);
    const verification = await verifyBundle(built.location, { trustedKey: manifest.signing.keyFingerprint });
    expect(verification.problems).toEqual([]);
    expect(verification.ok).toBe(true);
    expect(verification.trust).toBe("matched");
    expect(verification.facts).toMatchObject({
      entries: 5,
      sessions: 3,
      exports: 2,
      authorized: 2,
      reanalyzed: 2,
      catalogs: 1,
      analyzer: { bundle: ANALYZER_VERSION, verifier: ANALYZER_VERSION },
    });
  });

  it("makes a verifiable empty bundle for a range without entries", async () => {
    const built = await buildEvidenceBundle(
      f.deps,
      new Date(f.start.getTime() - 7_200_000),
      new Date(f.start.getTime() - 3_600_000),
    );
    const verification = await verifyBundle(built.location);
    expect(verification.problems).toEqual([]);
    expect(verification.manifest?.chain).toMatchObject({ anchor: null, first: null, last: null, entries: 0 });
  });

  it("anchors a later range on the head of the earlier one", async () => {
    await f.completed();
    const middle = new Date(f.clock.now().getTime() + 1);
    f.clock.now();
    await f.completed();
    const deps = f.deps;
    const early = await buildEvidenceBundle(deps, new Date(f.start.getTime() - 1000), middle);
    const late = await buildEvidenceBundle(deps, middle, new Date(f.start.getTime() + 600_000));
    expect(late.manifest.chain.anchor).toBe(early.manifest.chain.last?.digest);
    expect(late.manifest.chain.first?.seq).toBe((early.manifest.chain.last?.seq ?? 0) + 1);
    expect((await verifyBundle(late.location)).ok).toBe(true);
  });

  it("refuses, leaving nothing behind, when a cited policy is not archived or its text was altered", async () => {
    await f.completed();
    const archived = join(f.dir, "policies", `${f.policyDigest}.yaml`);
    const { chmod, writeFile, rm } = await import("node:fs/promises");
    await chmod(archived, 0o600);
    await writeFile(
      archived,
      TEST_POLICY.replace("[id, department, diagnosis_code]", "[id, department, diagnosis_code, notes]"),
    );
    await expect(f.build()).rejects.toThrow(/does not hash to its digest/);
    await rm(archived);
    await expect(f.build()).rejects.toBeInstanceOf(IntegrityError);
    expect(await readdir(join(f.dir, "evidence"))).toEqual([]);
  });

  it("refuses, leaving nothing behind, when a cited catalog snapshot is not archived or was altered", async () => {
    await f.completed();
    const archived = join(f.dir, "catalogs", `${f.catalog.version}.json`);
    const { chmod, writeFile, rm } = await import("node:fs/promises");
    const original = await readFile(archived, "utf8");
    await chmod(archived, 0o600);
    await writeFile(archived, original.replace('"notes"', '"notez"'));
    await expect(f.build()).rejects.toThrow(/does not hash to the digest its sessions record/);
    await rm(archived);
    await expect(f.build()).rejects.toThrow(/is not in the catalog archive/);
    expect(await readdir(join(f.dir, "evidence"))).toEqual([]);
  });

  it("bounds the range: ordered, at most 31 days, not in the future", () => {
    const now = new Date("2026-05-01T00:00:00Z");
    expect(() => checkRange(now, now, now)).toThrow(/before/);
    expect(() => checkRange(new Date("2026-03-01T00:00:00Z"), now, now)).toThrow(/31 days/);
    expect(() => checkRange(new Date("2026-04-30T00:00:00Z"), new Date("2026-05-02T00:00:00Z"), now)).toThrow(
      /future/,
    );
    expect(() => checkRange(new Date("2026-04-01T00:00:00Z"), now, now)).not.toThrow();
  });
});
