// The offline verifier against tampered bundles: each kind of tampering is caught, with its own class and message.

import { createHash, createPublicKey } from "node:crypto";
import { chmod, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalSigner } from "#infra/local/adapters/local-signer.ts";
import { recordBinding } from "#shared/approval/binding.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { type Manifest, manifestSchema } from "#shared/evidence/bundle-format.ts";
import { LOG_FILES } from "#shared/evidence/log-section.ts";
import type { ProblemClass } from "#shared/evidence/problems.ts";
import { normalizeFingerprint, verifyBundle } from "#shared/evidence/verify-bundle.ts";
import { logOrigin, signCheckpoint } from "#shared/log/checkpoint.ts";
import { type SessionRecord, transition } from "#shared/sessions/record.ts";
import { ANALYZER_VERSION } from "#shared/sql/analyzer-version.ts";
import {
  type EvidenceFixture,
  fileDigest,
  openEvidenceFixture,
  rewrite,
} from "#test/support/evidence-fixture.ts";

async function readManifest(bundle: string): Promise<Manifest> {
  const { readFile } = await import("node:fs/promises");
  return manifestSchema.parse(JSON.parse(await readFile(join(bundle, "manifest.json"), "utf8")));
}

/**
 * Replaces the bundle's key with `signer`'s, re-signs the log checkpoints under its origin and re-signs the manifest
 * (what a forger with their own key does).
 */
async function resign(
  bundle: string,
  signer: LocalSigner,
  change: (m: Manifest) => Manifest = (m) => m,
): Promise<void> {
  const key = await signer.publicKey();
  await rewrite(join(bundle, "public-key.pem"), () => key.pem);
  const relisted = new Map([["public-key.pem", await fileDigest(join(bundle, "public-key.pem"))]]);
  const original = await readManifest(bundle);
  const origin = logOrigin(key.fingerprint);
  for (const path of [LOG_FILES.start, LOG_FILES.end]) {
    const note = await readFile(join(bundle, path), "utf8");
    const [, size, root] = note.split("\n") as [string, string, string];
    const signed = await signCheckpoint(
      { origin, size: Number(size), root: Buffer.from(root, "base64") },
      signer,
      createPublicKey(key.pem),
    );
    await rewrite(join(bundle, path), () => signed.note);
    relisted.set(path, await fileDigest(join(bundle, path)));
  }
  await rewrite(join(bundle, LOG_FILES.range), (t) => JSON.stringify({ ...JSON.parse(t), origin }));
  relisted.set(LOG_FILES.range, await fileDigest(join(bundle, LOG_FILES.range)));
  const manifest = change({
    ...original,
    ...(original.log === undefined ? {} : { log: { ...original.log, origin } }),
  });
  const next: Manifest = {
    ...manifest,
    signing: { ...manifest.signing, keyFingerprint: key.fingerprint },
    files: manifest.files.map((f) => ({ ...f, ...relisted.get(f.path) })),
  };
  const bytes = Buffer.from(`${JSON.stringify(next, null, 2)}\n`);
  await rewrite(join(bundle, "manifest.json"), () => bytes.toString("utf8"));
  const signature = await signer.signDigest(createHash("sha256").update(bytes).digest());
  await chmod(join(bundle, "manifest.sig"), 0o600);
  await writeFile(join(bundle, "manifest.sig"), signature);
}

const lines = (text: string): string[] => text.trimEnd().split("\n");
const unlines = (list: string[]): string => `${list.join("\n")}\n`;

describe("verifyBundle", () => {
  let f: EvidenceFixture;
  let bundle: string;
  let fingerprint: string;
  const headlines = new Map<string, ProblemClass>();

  async function expectFirst(cls: ProblemClass, message: RegExp, options = {}): Promise<void> {
    const verification = await verifyBundle(bundle, options);
    expect(verification.ok).toBe(false);
    expect(verification.problems[0]).toMatchObject({ class: cls, message: expect.stringMatching(message) });
    headlines.set(verification.problems[0]?.message ?? "", cls);
  }

  beforeEach(async () => {
    f = await openEvidenceFixture();
    await f.completed();
    await f.rejected();
    await f.completed({ columns: ["department"] });
    await f.completed();
    bundle = (await f.build()).location;
    fingerprint = (await f.signer.publicKey()).fingerprint;
  });
  afterEach(async () => {
    await f.close();
  });

  it("passes an untouched bundle, with and without a trusted key", async () => {
    const trusted = await verifyBundle(bundle, { trustedKey: fingerprint.toUpperCase() });
    expect(trusted).toMatchObject({ ok: true, problems: [], trust: "matched", keyFingerprint: fingerprint });
    const untrusted = await verifyBundle(bundle);
    expect(untrusted).toMatchObject({ ok: true, trust: "not_checked" });
    expect(untrusted.facts).toMatchObject({ entries: 7, sessions: 4, exports: 3, authorized: 3 });
  });

  it("catches one changed byte in a record", async () => {
    await rewrite(join(bundle, "sessions.jsonl"), (t) =>
      t.replace("SELECT id, department", "SELECT id, departmenu"),
    );
    await expectFirst("record_altered", /line 1 \(seq 1\): the entry's content does not hash to its digest/);
  });

  it("catches a dropped record, in the middle or at the end", async () => {
    await rewrite(join(bundle, "sessions.jsonl"), (t) => unlines(lines(t).filter((_, i) => i !== 2)));
    await expectFirst("record_missing", /lacks seq 3 of the manifest's range 1–7/);
    await rewrite(join(bundle, "sessions.jsonl"), (t) => unlines(lines(t).slice(0, -1)));
    const v = await verifyBundle(bundle);
    expect(v.problems[0]?.message).toMatch(/lacks seq 3, 7 /);
  });

  it("catches two records swapped", async () => {
    await rewrite(join(bundle, "sessions.jsonl"), (t) => {
      const l = lines(t);
      return unlines([l[0], l[2], l[1], ...l.slice(3)] as string[]);
    });
    await expectFirst("records_reordered", /line 3: seq 2 comes after seq 3/);
  });

  it("catches a replaced public key when the manifest was not re-signed", async () => {
    const forger = await LocalSigner.open(join(f.dir, "forger-keys"));
    await rewrite(join(bundle, "public-key.pem"), () => "");
    await writeFile(join(bundle, "public-key.pem"), (await forger.publicKey()).pem);
    await expectFirst(
      "public_key_replaced",
      /public-key.pem has fingerprint [0-9a-f]{64}, but the manifest names/,
    );
  });

  it("catches a replaced key with a re-signed manifest only through --trusted-key", async () => {
    const forger = await LocalSigner.open(join(f.dir, "forger-keys"));
    await resign(bundle, forger);
    const unchecked = await verifyBundle(bundle);
    expect(unchecked).toMatchObject({ ok: true, trust: "not_checked" });
    await expectFirst("untrusted_key", /signed by key [0-9a-f]{64}, not the trusted key/, {
      trustedKey: fingerprint,
    });
  });

  it("catches a manifest edited without the signing key", async () => {
    await rewrite(join(bundle, "manifest.json"), (t) => t.replace('"exports": 3', '"exports": 2'));
    await expectFirst("signature_invalid", /manifest.sig is not a valid ECDSA P-256 \/ SHA-256 signature/);
  });

  it("catches a policy edited after the fact", async () => {
    await rewrite(join(bundle, `policies/${f.policyDigest}.yaml`), (t) =>
      t.replace("strategy: redact", "strategy: partial"),
    );
    await expectFirst(
      "policy_altered",
      /does not hash to [0-9a-f]{64}: the policy text was changed after the decisions/,
    );
  });

  it("catches a catalog snapshot edited after the fact", async () => {
    await rewrite(join(bundle, `catalogs/${f.catalog.version}.json`), (t) => t.replace('"notes"', '"notez"'));
    await expectFirst(
      "catalog_altered",
      /does not hash to [0-9a-f]{64}: the catalog snapshot was changed after the sessions analyzed against it/,
    );
    const v = await verifyBundle(bundle);
    expect(v.problems.map((p) => p.class)).not.toContain("file_altered");
  });

  it("catches a missing catalog snapshot: its file removed, or removed from a re-signed manifest", async () => {
    const path = `catalogs/${f.catalog.version}.json`;
    await rm(join(bundle, path), { force: true });
    const removed = await verifyBundle(bundle);
    expect(removed.ok).toBe(false);
    expect(removed.problems[0]).toEqual({
      class: "file_missing",
      message: `${path} is listed in the manifest but missing`,
    });
    expect(removed.facts?.reanalyzed).toBe(0);
    const forger = await LocalSigner.open(join(f.dir, "forger-keys"));
    await resign(bundle, forger, (m) => ({
      ...m,
      catalogs: [],
      counts: { ...m.counts, catalogs: 0 },
      files: m.files.filter((file) => file.path !== path),
    }));
    await expectFirst(
      "catalog_missing",
      new RegExp(
        `session ses_\\w+ \\(seq 1\\) was analyzed against catalog ${f.catalog.version}, which is not in the bundle`,
      ),
    );
    const unlisted = await verifyBundle(bundle);
    expect(unlisted.problems.filter((p) => p.class === "catalog_missing")).toHaveLength(4);
    expect(unlisted.facts?.reanalyzed).toBe(0);
  });

  it("catches a file added, a file removed, and an altered report", async () => {
    await writeFile(join(bundle, "extra.txt"), "hello");
    await expectFirst("file_unexpected", /extra.txt is in the bundle but not in the manifest/);
    await rm(join(bundle, "extra.txt"));
    await rewrite(join(bundle, "report.html"), (t) => t.replace("Who accessed PHI", "Who accessed nothing"));
    await expectFirst("file_altered", /report.html: SHA-256 or size does not match the manifest/);
    await rm(join(bundle, "report.html"));
    await expectFirst("file_missing", /report.html is listed in the manifest but missing/);
  });

  it("catches approvals.jsonl that does not match the recorded approvals", async () => {
    await rewrite(
      join(bundle, "approvals.jsonl"),
      () =>
        `${JSON.stringify({ sessionId: "ses_x", seq: 1, approver: "mallory", approverKey: "k", decision: "approve", at: "2026-01-01T00:00:00.000Z", comment: null, binding: sha256Hex("b"), requestBinding: null })}\n`,
    );
    await expectFirst("approvals_altered", /approvals.jsonl line 1 differs from the approvals recorded/);
  });

  it("checks consecutive bundles link: a later bundle's anchor is the earlier one's head", async () => {
    const manifest = await readManifest(bundle);
    expect(manifest.chain.anchor).toBe(manifest.chain.genesis);
    expect(manifest.chain.last?.seq).toBe(7);
  });

  it("gives every kind of tampering its own class and message", () => {
    const classes = [...headlines.values()];
    expect(new Set(classes).size).toBe(classes.length);
    expect(classes.length).toBeGreaterThanOrEqual(11);
  });

  it("normalizes fingerprints as people paste them", () => {
    const hex = "ab".repeat(32);
    expect(normalizeFingerprint(hex.toUpperCase().match(/../g)?.join(":") ?? "")).toBe(hex);
    expect(normalizeFingerprint("abc")).toBeUndefined();
  });
});

describe("verifyBundle on authentic bundles that record violations", () => {
  let f: EvidenceFixture;
  beforeEach(async () => {
    f = await openEvidenceFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it("reports a column the cited policy does not grant", async () => {
    await f.completed({ columns: ["id", "notes"] });
    const v = await verifyBundle((await f.build()).location);
    expect(v.problems[0]).toMatchObject({
      class: "unauthorized_column",
      message: expect.stringMatching(
        /does not grant: column public.encounters.notes is not granted to reporter/,
      ),
    });
    expect(v.problems.every((p) => p.class === "unauthorized_column")).toBe(true);
  });

  const approvalFor = (record: SessionRecord) => ({
    id: "apr_1",
    expiresAt: "2999-01-01T00:00:00.000Z",
    quorum: 1,
    binding: recordBinding(record),
    estimatedRows: 10,
  });

  it("reports an export that needed approval and ran without it; accepts a valid approval", async () => {
    const needs = await f.completed({}, {});
    const pending = {
      ...needs,
      decision: { ...needs.decision, outcome: "require_approval" as const },
      approval: approvalFor(needs),
    };
    await f.sessions.update(transition(pending, "completed", f.clock.now()));
    const approved = await f.completed();
    const binding = recordBinding(approved);
    await f.sessions.update(
      transition(approved, "completed", f.clock.now(), {
        decision: { ...approved.decision, outcome: "require_approval" },
        approval: approvalFor(approved),
        approvals: [
          {
            approver: "alice",
            approverKey: "https://idp.test/#alice",
            decision: "approve",
            at: approved.createdAt,
            comment: "ok",
            binding,
          },
        ],
      }),
    );
    const built = await f.build();
    const v = await verifyBundle(built.location);
    expect(v.problems.map((p) => p.class)).toEqual(["review_missing"]);
    expect(v.problems[0]?.message).toMatch(
      new RegExp(`session ${needs.sessionId} returned data with 0 valid approval\\(s\\) of the 1 required`),
    );
    expect(v.facts?.reviewedByPeople).toBe(1);
    expect(built.manifest.counts.approvals).toBe(1);
  });

  it("reports an export whose recorded statement changed after it was approved", async () => {
    const approved = await f.completed();
    const approval = approvalFor(approved);
    const decision = {
      approver: "alice",
      approverKey: "https://idp.test/#alice",
      decision: "approve" as const,
      at: approved.createdAt,
      comment: "ok",
      binding: approval.binding,
    };
    await f.sessions.update(
      transition(approved, "completed", f.clock.now(), {
        decision: { ...approved.decision, outcome: "require_approval" },
        request: { ...approved.request, sql: `${approved.request.sql} -- changed` },
        approval,
        approvals: [decision],
      }),
    );
    const v = await verifyBundle((await f.build()).location);
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatchObject({
      class: "approval_binding_mismatch",
      message: expect.stringMatching(
        new RegExp(
          `session ${approved.sessionId}: its approval request is bound to ${approval.binding.slice(0, 12)}`,
        ),
      ),
    });
    expect(v.problems.map((p) => p.class)).toContain("review_missing");
  });

  it("reports a self-approved export", async () => {
    const r = await f.completed();
    await f.sessions.update(
      transition(r, "completed", f.clock.now(), {
        approvals: [
          {
            approver: "tester",
            approverKey: r.principal.key,
            decision: "approve",
            at: r.createdAt,
            comment: null,
            binding: recordBinding(r),
          },
        ],
      }),
    );
    const v = await verifyBundle((await f.build()).location);
    expect(v.problems[0]).toMatchObject({
      class: "review_missing",
      message: expect.stringMatching(/approved by its own requester/),
    });
  });

  it("reports a self-approval by the requester's subject under another issuer, as the gateway refuses it", async () => {
    const r = await f.completed();
    await f.sessions.update(
      transition(r, "completed", f.clock.now(), {
        decision: { ...r.decision, outcome: "require_approval" },
        approval: approvalFor(r),
        approvals: [
          {
            approver: "tester",
            approverKey: `https://other-idp.test/#${r.principal.subject}`,
            decision: "approve",
            at: r.createdAt,
            comment: null,
            binding: recordBinding(r),
          },
        ],
      }),
    );
    const v = await verifyBundle((await f.build()).location);
    expect(v.ok).toBe(false);
    expect(v.problems[0]).toMatchObject({
      class: "review_missing",
      message: expect.stringMatching(/approved by its own requester/),
    });
    expect(v.problems.map((p) => p.message).join("\n")).toMatch(
      /with 0 valid approval\(s\) of the 1 required/,
    );
  });

  it("counts one approver per subject across issuers toward the quorum", async () => {
    const r = await f.completed();
    const binding = recordBinding(r);
    const approve = (approverKey: string) => ({
      approver: approverKey,
      approverKey,
      decision: "approve" as const,
      at: r.createdAt,
      comment: null,
      binding,
    });
    await f.sessions.update(
      transition(r, "completed", f.clock.now(), {
        decision: { ...r.decision, outcome: "require_approval" },
        approval: { ...approvalFor(r), quorum: 2 },
        approvals: [approve("https://idp.test/#alice"), approve("https://other-idp.test/#alice")],
      }),
    );
    const v = await verifyBundle((await f.build()).location);
    expect(v.problems).toEqual([
      expect.objectContaining({
        class: "review_missing",
        message: expect.stringMatching(/with 1 valid approval\(s\) of the 2 required/),
      }),
    ]);
  });

  it("counts an approval only strictly before the expiry, comparing instants rather than texts", async () => {
    const r = await f.completed();
    const at = new Date(Math.ceil(Date.parse(r.createdAt) / 1_000) * 1_000 + 1_000);
    // The same instant as the decision (written with less precision): the gateway refuses a decision at expiry.
    const expiresAt = at.toISOString().replace(/\.\d{3}Z$/, "Z");
    expect(Date.parse(expiresAt)).toBe(at.getTime());
    await f.sessions.update(
      transition(r, "completed", f.clock.now(), {
        decision: { ...r.decision, outcome: "require_approval" },
        approval: { ...approvalFor(r), expiresAt },
        execution: {
          ...(r.execution ?? { finishedAt: null, durationMs: null, rowCount: null, truncated: null }),
          startedAt: new Date(at.getTime() + 1_000).toISOString(),
        },
        approvals: [
          {
            approver: "alice",
            approverKey: "https://idp.test/#alice",
            decision: "approve",
            at: at.toISOString(),
            comment: null,
            binding: recordBinding(r),
          },
        ],
      }),
    );
    const v = await verifyBundle((await f.build()).location);
    expect(v.problems).toEqual([
      expect.objectContaining({
        class: "review_missing",
        message: expect.stringMatching(/with 0 valid approval\(s\) of the 1 required/),
      }),
    ]);
  });

  it("re-analyzes each export from its SQL text: a faulty analysis that hid a protected column is a reanalysis finding", async () => {
    await f.completed({ columns: ["id", "diagnosis_code"], masking: [null, null] }, {});
    const faulty = await f.completed({
      columns: ["id", "diagnosis_code"],
      masking: [null, null],
      constant: ["diagnosis_code"],
    });
    const v = await verifyBundle((await f.build()).location);
    // The first export is caught from its own recorded analysis; the faulty one only by analyzing it again.
    expect(v.problems.map((p) => p.class)).toEqual(["masking_mismatch", "reanalysis"]);
    expect(v.problems[1]?.message).toBe(
      `session ${faulty.sessionId} (recorded by analyzer ${ANALYZER_VERSION}; re-analyzed by analyzer ${ANALYZER_VERSION}) column "diagnosis_code" was masked as nothing; re-analyzed, policy ${f.policyDigest.slice(0, 12)} requires redact (public.encounters.diagnosis_code)`,
    );
    // Neither export re-analyzes as recorded; the first one's difference is reported once, as masking_mismatch.
    expect(v.facts).toMatchObject({ exports: 2, maskedAsRequired: 1, reanalyzed: 0 });
  });

  it("reports an export whose SQL text reads a column its recorded analysis did not name", async () => {
    const first = await f.completed({ columns: ["id", "department"] });
    const hidden = await f.completed(
      { columns: ["id", "department"] },
      {
        request: { ...first.request, sql: "SELECT id, notes AS department FROM encounters LIMIT 2" },
      },
    );
    const v = await verifyBundle((await f.build()).location);
    expect(v.problems).toEqual([
      {
        class: "reanalysis",
        message: expect.stringMatching(
          new RegExp(
            `^session ${hidden.sessionId} \\(recorded by analyzer \\d+; re-analyzed by analyzer \\d+\\) would be denied by policy ${f.policyDigest.slice(0, 12)}: .*public.encounters.notes`,
          ),
        ),
      },
    ]);
  });

  it("reports an export whose SQL text this verifier's analyzer refuses", async () => {
    const first = await f.completed();
    const refused = await f.completed(
      {},
      { request: { ...first.request, sql: "SELECT id, department FROM" } },
    );
    const v = await verifyBundle((await f.build()).location);
    expect(v.problems).toEqual([
      {
        class: "reanalysis",
        message: expect.stringMatching(new RegExp(`^session ${refused.sessionId} .* does not analyze: `)),
      },
    ]);
  });

  it("reports an export whose record does not name the catalog it was analyzed against", async () => {
    const unnamed = await f.completed({}, { analysis: undefined });
    const v = await verifyBundle((await f.build()).location);
    expect(v.problems).toEqual([
      {
        class: "catalog_missing",
        message: `session ${unnamed.sessionId} (seq 2) returned data, but its record does not name the catalog it was analyzed against: it cannot be re-analyzed`,
      },
    ]);
  });

  it("reports a column returned unmasked where the policy requires masking, and accepts it masked as required", async () => {
    const rule = { rule: "public.encounters.diagnosis_code", strategy: "redact" };
    await f.completed({ columns: ["id", "diagnosis_code"], masking: [null, rule] });
    const unmasked = await f.completed({ columns: ["id", "diagnosis_code"], masking: [null, null] });
    const v = await verifyBundle((await f.build()).location);
    expect(v.problems).toEqual([
      {
        class: "masking_mismatch",
        message: `session ${unmasked.sessionId} returned column "diagnosis_code" unmasked; policy ${f.policyDigest.slice(0, 12)} requires redact (public.encounters.diagnosis_code)`,
      },
    ]);
    expect(v.facts).toMatchObject({ exports: 2, authorized: 2, maskedAsRequired: 1 });
  });

  it("reports a column masked with a weaker strategy than the policy requires", async () => {
    await f.completed({
      columns: ["diagnosis_code"],
      masking: [{ rule: "public.encounters.diagnosis_code", strategy: "partial" }],
    });
    const v = await verifyBundle((await f.build()).location);
    expect(v.problems[0]?.message).toMatch(/was masked as partial .* the policy requires redact/);
  });
});
