// Bundles as slices of the transparency log: roots re-derived from the entries, and tampering a key holder could hide from the chain.

import { createHash, createPublicKey } from "node:crypto";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalSigner } from "#infra/local/adapters/local-signer.ts";
import { buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import { type Manifest, manifestSchema } from "#shared/evidence/bundle-format.ts";
import { LOG_FILES } from "#shared/evidence/log-section.ts";
import { verifyBundle } from "#shared/evidence/verify-bundle.ts";
import { previousFrom } from "#shared/evidence/verify-log-section.ts";
import { signCheckpoint } from "#shared/log/checkpoint.ts";
import { entryLeafHash } from "#shared/log/entry-leaf.ts";
import { rootFromFrontier, rootWithRange } from "#shared/log/range-proof.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { entryDigest } from "#shared/sessions/chain.ts";
import {
  type EvidenceFixture,
  fileDigest,
  openEvidenceFixture,
  rewrite,
} from "#test/support/evidence-fixture.ts";

const lines = (text: string): string[] => text.trimEnd().split("\n");

async function manifestOf(bundle: string): Promise<Manifest> {
  return manifestSchema.parse(JSON.parse(await readFile(join(bundle, "manifest.json"), "utf8")));
}

/** Re-lists every file and re-signs the manifest with the gateway's own key (what only the key holder can do). */
async function resignAsKeyHolder(
  bundle: string,
  signer: LocalSigner,
  change: (m: Manifest) => Manifest = (m) => m,
) {
  const manifest = change(await manifestOf(bundle));
  const files = await Promise.all(
    manifest.files.map(async (f) => ({ ...f, ...(await fileDigest(join(bundle, f.path))) })),
  );
  const bytes = Buffer.from(`${JSON.stringify({ ...manifest, files }, null, 2)}\n`);
  await rewrite(join(bundle, "manifest.json"), () => bytes.toString("utf8"));
  await chmod(join(bundle, "manifest.sig"), 0o600);
  await writeFile(
    join(bundle, "manifest.sig"),
    await signer.signDigest(createHash("sha256").update(bytes).digest()),
  );
}

/** Rewrites sessions.jsonl as `entries` re-linked from seq `firstSeq` (digests and links recomputed). */
function relink(entries: ChainEntry[], firstSeq: number, anchor: string): ChainEntry[] {
  const out: ChainEntry[] = [];
  let prev = anchor;
  for (const [i, e] of entries.entries()) {
    const unsigned = { ...e, seq: firstSeq + i, prev };
    const digest = entryDigest(unsigned);
    out.push({ ...unsigned, digest });
    prev = digest;
  }
  return out;
}

async function resignCheckpoint(
  bundle: string,
  path: string,
  signer: LocalSigner,
  root: Uint8Array,
): Promise<void> {
  const note = await readFile(join(bundle, path), "utf8");
  const [origin, size] = note.split("\n") as [string, string];
  const key = createPublicKey((await signer.publicKey()).pem);
  const signed = await signCheckpoint({ origin, size: Number(size), root }, signer, key);
  await rewrite(join(bundle, path), () => signed.note);
}

describe("the log section of evidence bundles", () => {
  let f: EvidenceFixture;
  beforeEach(async () => {
    f = await openEvidenceFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  const range = (from: Date, to: Date, previousSize?: number) =>
    buildEvidenceBundle(f.deps, from, to, previousSize === undefined ? {} : { previousSize });

  it("re-derives both checkpoints' roots from the entries and reports the slice", async () => {
    await f.completed();
    await f.rejected();
    const built = await f.build();
    const v = await verifyBundle(built.location);
    expect(v.ok, JSON.stringify(v.problems)).toBe(true);
    expect(v.facts?.log).toMatchObject({ origin: f.log.origin, start: { size: 0 }, end: { size: 3 } });
    expect(v.facts?.log?.end.root).toBe(Buffer.from((await f.log.checkpointAt(3)).root).toString("hex"));
  });

  it("catches an entry removed from the middle even when the key holder relinks the chain and re-signs the manifest", async () => {
    await f.completed();
    await f.completed();
    const bundle = (await f.build()).location;
    const entries = lines(await readFile(join(bundle, "sessions.jsonl"), "utf8")).map(
      (l) => JSON.parse(l) as ChainEntry,
    );
    const kept = relink(
      entries.filter((_, i) => i !== 1),
      1,
      entries[0]?.prev as string,
    );
    await rewrite(join(bundle, "sessions.jsonl"), () => kept.map((e) => `${JSON.stringify(e)}\n`).join(""));
    await resignAsKeyHolder(bundle, f.signer, (m) => ({
      ...m,
      chain: { ...m.chain, last: { seq: 3, digest: kept[2]?.digest as string }, entries: 3 },
    }));
    const v = await verifyBundle(bundle);
    expect(v.problems[0]).toMatchObject({ class: "log_proof_failed" });
    expect(v.problems.some((p) => /do not re-derive the end checkpoint's root/.test(p.message))).toBe(true);
    expect(v.problems.some((p) => p.class === "record_missing" || p.class === "chain_broken")).toBe(false);
  });

  it("catches a checkpoint re-signed over a rewritten tree: by another key always, by the key holder against --previous", async () => {
    await f.completed();
    const cut = f.clock.now();
    await f.completed();
    const from = new Date(f.start.getTime() - 60_000);
    const first = await range(from, cut);
    const firstCheck = await verifyBundle(first.location);
    expect(firstCheck.ok).toBe(true);
    const previous = previousFrom(
      firstCheck.facts?.log as NonNullable<typeof firstCheck.facts>["log"] & object,
    );
    const whole = (await range(from, new Date(f.start.getTime() + 600_000))).location;
    expect((await verifyBundle(whole, { previous })).facts?.log?.previous).toEqual({
      size: 2,
      outcome: "extends",
    });

    const entries = lines(await readFile(join(whole, "sessions.jsonl"), "utf8")).map(
      (l) => JSON.parse(l) as ChainEntry,
    );
    const altered = JSON.parse(JSON.stringify(entries[0])) as ChainEntry;
    (altered.record as { request: { purpose: string | null } }).request.purpose = "rewritten";
    const rewritten = relink([altered, ...entries.slice(1)], 1, entries[0]?.prev as string);
    await rewrite(join(whole, "sessions.jsonl"), () =>
      rewritten.map((e) => `${JSON.stringify(e)}\n`).join(""),
    );
    const forger = await LocalSigner.open(join(f.dir, "forger-keys"));
    const newRoot = rootWithRange(0, [], rewritten.map(entryLeafHash)) as Uint8Array;
    await resignCheckpoint(whole, LOG_FILES.end, forger, newRoot);
    await resignAsKeyHolder(whole, f.signer, (m) => ({
      ...m,
      chain: {
        ...m.chain,
        first: { seq: 1, digest: rewritten[0]?.digest as string },
        last: { seq: 4, digest: rewritten[3]?.digest as string },
      },
    }));
    expect((await verifyBundle(whole)).problems[0]).toMatchObject({
      class: "log_checkpoint_invalid",
      message: expect.stringMatching(/checkpoint-end.note: .*no signature by the trusted key/),
    });
    await resignCheckpoint(whole, LOG_FILES.end, f.signer, newRoot);
    await resignAsKeyHolder(whole, f.signer);
    expect((await verifyBundle(whole)).ok).toBe(true);
    const against = await verifyBundle(whole, { previous });
    expect(against.problems[0]).toMatchObject({
      class: "log_inconsistent",
      message: expect.stringMatching(
        /size 2 is not the tree this bundle's entries re-derive: history was rewritten/,
      ),
    });
  });

  it("catches a forked checkpoint: two roots for the size where the previous bundle ended", async () => {
    await f.completed();
    await f.rejected();
    const cut = f.clock.now();
    await f.completed();
    const first = await range(new Date(f.start.getTime() - 60_000), cut);
    const previous = previousFrom((await verifyBundle(first.location)).facts?.log as never);
    expect(previous.size).toBe(3);
    const next = (await range(cut, new Date(f.start.getTime() + 600_000))).location;
    expect((await verifyBundle(next, { previous })).ok).toBe(true);
    const rangeDoc = JSON.parse(await readFile(join(next, LOG_FILES.range), "utf8")) as {
      frontier: string[];
    };
    const forkedFrontier = rangeDoc.frontier.map(() => Buffer.alloc(32, 9).toString("base64"));
    await rewrite(join(next, LOG_FILES.range), () =>
      JSON.stringify({ ...rangeDoc, frontier: forkedFrontier }),
    );
    const frontier = forkedFrontier.map((h) => Buffer.from(h, "base64"));
    const entries = lines(await readFile(join(next, "sessions.jsonl"), "utf8")).map(
      (l) => JSON.parse(l) as ChainEntry,
    );
    await resignCheckpoint(next, LOG_FILES.start, f.signer, rootFromFrontier(3, frontier) as Uint8Array);
    await resignCheckpoint(
      next,
      LOG_FILES.end,
      f.signer,
      rootWithRange(3, frontier, entries.map(entryLeafHash)) as Uint8Array,
    );
    await resignAsKeyHolder(next, f.signer);
    expect((await verifyBundle(next)).ok).toBe(true);
    expect((await verifyBundle(next, { previous })).problems[0]).toMatchObject({
      class: "log_inconsistent",
      message: expect.stringMatching(/a fork: .* both have 3 entries but different roots/),
    });
  });

  it("proves a later bundle extends an earlier one across a gap with the consistency proof it was asked for", async () => {
    await f.completed();
    const cut = f.clock.now();
    await f.completed();
    await f.rejected();
    const gapEnd = f.clock.now();
    await f.completed();
    const from = new Date(f.start.getTime() - 60_000);
    const to = new Date(f.start.getTime() + 600_000);
    const previous = previousFrom(
      (await verifyBundle((await range(from, cut)).location)).facts?.log as never,
    );
    const asked = (await range(gapEnd, to, previous.size)).location;
    const v = await verifyBundle(asked, { previous });
    expect(v.ok, JSON.stringify(v.problems)).toBe(true);
    expect(v.facts?.log).toMatchObject({ start: { size: 5 }, previous: { size: 2, outcome: "extends" } });
    const unasked = (await range(gapEnd, to)).location;
    expect((await verifyBundle(unasked, { previous })).problems[0]).toMatchObject({
      class: "log_inconsistent",
      message: expect.stringMatching(/carries no consistency proof from size 2/),
    });
    await rewrite(join(asked, LOG_FILES.range), (t) =>
      t.replace(
        /"consistency": \[\s*"[A-Za-z0-9+/]/,
        (m) => `${m.slice(0, -1)}${m.endsWith("A") ? "B" : "A"}`,
      ),
    );
    await resignAsKeyHolder(asked, f.signer);
    expect((await verifyBundle(asked, { previous })).problems[0]).toMatchObject({
      class: "log_inconsistent",
      message: expect.stringMatching(/does not extend the previous bundle's tree of size 2/),
    });
  });
});
