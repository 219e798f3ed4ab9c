// The local sequencer over the file journal: batches, proofs against its checkpoints, restart after a crash, forks.

import { createPublicKey, type KeyObject } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileCheckpointStore } from "#infra/local/adapters/file-checkpoint-store.ts";
import { FileSessionStore } from "#infra/local/adapters/file-session-store.ts";
import { LocalSigner } from "#infra/local/adapters/local-signer.ts";
import { readCheckpoint, signCheckpoint } from "#shared/log/checkpoint.ts";
import { entryIndex, entryLeafHash } from "#shared/log/entry-leaf.ts";
import { verifyConsistency, verifyInclusion } from "#shared/log/merkle.ts";
import { ALL_DAYS, createLogSequencer } from "#shared/log/open-log.ts";
import { rootFromFrontier } from "#shared/log/range-proof.ts";
import { LogCorruptError, type LogSequencer } from "#shared/log/sequencer.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { transition } from "#shared/sessions/record.ts";
import { sampleRecord } from "#test/support/records.ts";

let dir: string;
let signer: LocalSigner;
let key: KeyObject;

async function openHost(batchDelayMs = 20): Promise<{ store: FileSessionStore; log: LogSequencer }> {
  const log = await createLogSequencer(
    signer,
    new FileCheckpointStore(join(dir, "log", "checkpoints")),
    undefined,
    batchDelayMs,
  );
  const store = await FileSessionStore.open({
    directory: join(dir, "sessions"),
    onDurable: (entries) => log.accept(entries),
  });
  await log.start(store.entries(ALL_DAYS.from, ALL_DAYS.to));
  return { store, log };
}

async function allEntries(store: FileSessionStore): Promise<ChainEntry[]> {
  const entries: ChainEntry[] = [];
  for await (const entry of store.entries(ALL_DAYS.from, ALL_DAYS.to)) entries.push(entry);
  return entries;
}

async function writeSessions(store: FileSessionStore, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async () => {
      const record = sampleRecord();
      await store.create(record);
      await store.update(transition(record, "completed", new Date()));
    }),
  );
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "phigate-log-"));
  signer = await LocalSigner.open(join(dir, "keys"));
  key = createPublicKey((await signer.publicKey()).pem);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("LogSequencer on the file journal", () => {
  it("checkpoints concurrent writes in batches; every entry is included and every checkpoint extends the one before", async () => {
    const { store, log } = await openHost();
    expect(log.latest().size).toBe(0);
    await writeSessions(store, 100);
    const entries = await allEntries(store);
    expect(entries).toHaveLength(200);
    const final = await log.covering(entries.length);
    expect(final.size).toBe(200);
    for (const entry of entries) {
      const index = entryIndex(entry);
      expect(
        verifyInclusion(
          index,
          final.size,
          entryLeafHash(entry),
          log.inclusionProof(index, final.size),
          final.root,
        ),
      ).toBe(true);
    }
    const notes = (await readdir(join(dir, "log", "checkpoints"))).sort();
    const sizes = notes.map((n) => Number(n.slice(0, 16)));
    expect(sizes.at(-1)).toBe(200);
    for (let i = 1; i < notes.length; i++) {
      const a = readCheckpoint(
        await readFile(join(dir, "log", "checkpoints", notes[i - 1] as string), "utf8"),
        key,
      );
      const b = readCheckpoint(
        await readFile(join(dir, "log", "checkpoints", notes[i] as string), "utf8"),
        key,
      );
      if (!a.ok || !b.ok) throw new Error("a stored checkpoint does not verify");
      const proof = log.consistencyProof(a.checkpoint.size, b.checkpoint.size);
      expect(
        verifyConsistency(a.checkpoint.size, b.checkpoint.size, proof, a.checkpoint.root, b.checkpoint.root),
      ).toBe(true);
    }
    const frontier = log.prefixFrontier(137);
    expect(Buffer.from(rootFromFrontier(137, frontier) as Uint8Array)).toEqual(
      Buffer.from((await log.checkpointAt(137)).root),
    );
    await log.close();
    await store.close();
  });

  it("integrates at the next start what a crash left durable but unchecked (and migrates an existing journal)", async () => {
    const store = await FileSessionStore.open({ directory: join(dir, "sessions") });
    await writeSessions(store, 10);
    await store.close();
    const first = await openHost(60_000);
    expect(first.log.latest().size).toBe(20);
    await writeSessions(first.store, 5);
    await first.store.close();
    // No close of the log: the process "dies" with 10 entries accepted but not checkpointed.
    expect(first.log.latest().size).toBe(20);
    const second = await openHost();
    expect(second.log.latest().size).toBe(30);
    const entries = await allEntries(second.store);
    const checkpoint = second.log.latest();
    for (const entry of entries) {
      const proof = second.log.inclusionProof(entryIndex(entry), checkpoint.size);
      expect(
        verifyInclusion(entryIndex(entry), checkpoint.size, entryLeafHash(entry), proof, checkpoint.root),
      ).toBe(true);
    }
    await second.log.close();
    await second.store.close();
  });

  it("refuses to start when a stored checkpoint names another root (a fork, or a journal rewritten and re-signed)", async () => {
    const first = await openHost();
    await writeSessions(first.store, 3);
    await first.log.covering(6);
    await first.log.close();
    await first.store.close();
    const forged = await signCheckpoint(
      { origin: first.log.origin, size: 7, root: new Uint8Array(32).fill(7) },
      signer,
      key,
    );
    await writeFile(join(dir, "log", "checkpoints", `${"7".padStart(16, "0")}.note`), forged.note);
    await expect(openHost()).rejects.toBeInstanceOf(LogCorruptError);
    await writeFile(join(dir, "log", "checkpoints", `${"7".padStart(16, "0")}.note`), "");
    await expect(openHost()).rejects.toThrow(/checkpoint 7/);
  });

  it("retries a checkpoint whose signing failed, and refuses proofs once an entry arrives out of order", async () => {
    let failures = 1;
    const flaky = {
      signDigest: async (digest: Uint8Array) => {
        if (failures-- > 0) throw new Error("signer down");
        return signer.signDigest(digest);
      },
      publicKey: () => signer.publicKey(),
    };
    const log = await createLogSequencer(
      flaky,
      new FileCheckpointStore(join(dir, "log", "checkpoints")),
      undefined,
      10,
    );
    const store = await FileSessionStore.open({
      directory: join(dir, "sessions"),
      onDurable: (entries) => log.accept(entries),
    });
    failures = 0;
    await log.start(store.entries(ALL_DAYS.from, ALL_DAYS.to));
    failures = 1;
    await writeSessions(store, 2);
    expect((await log.covering(4)).size).toBe(4);
    expect(failures).toBeLessThan(0);
    const [entry] = await allEntries(store);
    log.accept([{ ...(entry as ChainEntry), seq: 10 }]);
    expect(() => log.latest()).toThrow(/unavailable/);
    await log.close();
    await store.close();
  });
});
