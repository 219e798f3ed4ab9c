// The file session store: durable versions, conditional writes, idempotency, and a hash chain that survives restarts.

import {
  appendFile,
  type FileHandle,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  rmdir,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FileSessionStore, JournalCorruptError } from "#infra/local/adapters/file-session-store.ts";
import { ConflictError } from "#shared/errors.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { verifyChain } from "#shared/sessions/chain.ts";
import { localPolicyChanger } from "#shared/sessions/policy-change.ts";
import { type SessionRecord, transition } from "#shared/sessions/record.ts";
import { sampleRecord } from "#test/support/records.ts";

async function allEntries(store: FileSessionStore): Promise<ChainEntry[]> {
  const entries: ChainEntry[] = [];
  for await (const entry of store.entries("0000-00-00", "9999-12-31")) entries.push(entry);
  return entries;
}

describe("FileSessionStore", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-sessions-"));
  });
  afterEach(async () => {
    vi.useRealTimers();
    await rm(dir, { recursive: true, force: true });
  });

  it("stores versions, enforces version order, and reads the latest", async () => {
    const store = await FileSessionStore.open({ directory: dir });
    const record = sampleRecord();
    expect((await store.create(record)).created).toBe(true);
    await expect(store.create(record)).rejects.toBeInstanceOf(ConflictError);
    const done = transition(record, "completed", new Date());
    await store.update(done);
    await expect(store.update(done)).rejects.toBeInstanceOf(ConflictError);
    expect((await store.get(record.sessionId))?.status).toBe("completed");
    expect(await store.get("ses_00000000000000000000000000")).toBeUndefined();
    await store.close();
  });

  it("records a policy only once its archiving has settled, and not at all if it failed", async () => {
    const store = await FileSessionStore.open({ directory: dir });
    const policy = { name: "demo", digest: "a".repeat(64) };
    const by = localPolicyChanger("policy.yaml");
    let archive = (): void => {};
    const archived = new Promise<void>((resolve) => {
      archive = resolve;
    });
    const recording = store.recordPolicy(policy, by, archived);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await allEntries(store)).toHaveLength(0);
    archive();
    expect(await recording).toMatchObject({ to: policy });
    await expect(
      store.recordPolicy({ ...policy, digest: "b".repeat(64) }, by, Promise.reject(new Error("no archive"))),
    ).rejects.toThrow("no archive");
    expect((await allEntries(store)).map((e) => e.record)).toEqual([expect.objectContaining({ to: policy })]);
    await store.close();
  });

  it("returns the existing session for a repeated idempotency key, scoped per principal", async () => {
    const store = await FileSessionStore.open({ directory: dir });
    const first = sampleRecord();
    const ref = { scope: first.principal.key, key: "retry-1" };
    const [a, b] = await Promise.all([store.create(first, ref), store.create(sampleRecord(), ref)]);
    expect(a.created).toBe(true);
    expect(b).toEqual({ created: false, record: a.record });
    expect((await store.create(sampleRecord(), { scope: "someone-else", key: "retry-1" })).created).toBe(
      true,
    );
    await store.close();
  });

  it("keeps one unbroken chain under 200 concurrent writers, across a restart", async () => {
    const store = await FileSessionStore.open({ directory: dir });
    const records = Array.from({ length: 200 }, () => sampleRecord());
    await Promise.all(records.map((r) => store.create(r)));
    await Promise.all(records.map((r) => store.update(transition(r, "completed", new Date()))));
    const entries = await allEntries(store);
    expect(entries).toHaveLength(400);
    expect(verifyChain(entries)).toEqual([]);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    await store.close();
    const reopened = await FileSessionStore.open({ directory: dir });
    expect(reopened.chainHead.seq).toBe(400);
    expect((await reopened.get(records[7]?.sessionId ?? ""))?.status).toBe("completed");
    const next = sampleRecord();
    await reopened.create(next);
    expect(verifyChain(await allEntries(reopened))).toEqual([]);
    await reopened.close();
  });

  it("links day files into one chain", async () => {
    let now = new Date("2026-03-01T23:59:59Z");
    const store = await FileSessionStore.open({ directory: dir, clock: { now: () => now } });
    await store.create(sampleRecord({}, now));
    now = new Date("2026-03-02T00:00:01Z");
    await store.create(sampleRecord({}, now));
    expect((await readdir(dir)).sort()).toEqual(["journal-2026-03-01.jsonl", "journal-2026-03-02.jsonl"]);
    const entries = await allEntries(store);
    expect(verifyChain(entries)).toEqual([]);
    const secondDay: ChainEntry[] = [];
    for await (const e of store.entries("2026-03-02", "2026-03-02")) secondDay.push(e);
    expect(secondDay.map((e) => e.seq)).toEqual([2]);
    await store.close();
  });

  it("undoes every day of a batch spanning midnight when a later day fails, so the journal still opens", async () => {
    const day1 = new Date("2026-03-01T23:59:59Z");
    const day2 = new Date("2026-03-02T00:00:01Z");
    let calls = 0;
    const store = await FileSessionStore.open({
      directory: dir,
      clock: { now: () => (++calls <= 3 ? day1 : day2) },
    });
    await store.create(sampleRecord({}, day1));
    // The second day's journal cannot be opened: the batch fails after its first day was written and synced.
    await mkdir(join(dir, "journal-2026-03-02.jsonl"));
    const [alone, lastOfDay1, firstOfDay2] = [
      sampleRecord({}, day1),
      sampleRecord({}, day1),
      sampleRecord({}, day2),
    ];
    const results = await Promise.allSettled([
      store.create(alone),
      store.create(lastOfDay1),
      store.create(firstOfDay2),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected"]);
    expect(await store.get(lastOfDay1.sessionId)).toBeUndefined();
    await rmdir(join(dir, "journal-2026-03-02.jsonl"));
    const later = sampleRecord({}, day2);
    await store.create(later);
    expect(await allEntries(store)).toHaveLength(3);
    await store.close();
    const reopened = await FileSessionStore.open({ directory: dir });
    const entries = await allEntries(reopened);
    expect(verifyChain(entries)).toEqual([]);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries[2]?.record).toMatchObject({ sessionId: later.sessionId });
    expect(await reopened.get(lastOfDay1.sessionId)).toBeUndefined();
    await reopened.close();
  });

  it("acknowledges a write only after a sync that covers it; writes queued during a sync share the next one", async () => {
    const store = await FileSessionStore.open({ directory: dir });
    const probe = await open(join(dir, "probe"), "w");
    const prototype = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const original = prototype.datasync;
    const held: (() => void)[] = [];
    const spy = vi.spyOn(prototype, "datasync").mockImplementation(function (this: FileHandle) {
      return new Promise<void>((resolve, reject) =>
        held.push(() => original.call(this).then(resolve, reject)),
      );
    });
    const settled = new Set<string>();
    const write = (record: SessionRecord) =>
      store.create(record).then((r) => {
        settled.add(record.sessionId);
        return r;
      });
    const until = async (condition: () => boolean) => {
      for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 2));
      expect(condition()).toBe(true);
    };
    try {
      const [a, b, c] = [sampleRecord(), sampleRecord(), sampleRecord()];
      const first = write(a);
      await until(() => held.length === 1);
      const rest = [write(b), write(c)];
      await new Promise((r) => setTimeout(r, 20));
      expect(settled.size).toBe(0);
      expect(await store.get(a.sessionId)).toBeUndefined();
      held.shift()?.();
      await first;
      await until(() => held.length === 1);
      expect([...settled]).toEqual([a.sessionId]);
      expect(await store.get(b.sessionId)).toBeUndefined();
      held.shift()?.();
      await Promise.all(rest);
      expect(settled).toEqual(new Set([a.sessionId, b.sessionId, c.sessionId]));
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
    await store.close();
  });

  it("closes once the writes in flight are durable, without waiting on a timer", {
    timeout: 10_000,
  }, async () => {
    const store = await FileSessionStore.open({ directory: dir });
    const records = [sampleRecord(), sampleRecord(), sampleRecord()];
    vi.useFakeTimers({ toFake: ["setTimeout", "setInterval", "setImmediate"] });
    try {
      const writes = records.map((r) => store.create(r));
      await store.close();
      expect((await Promise.all(writes)).every((w) => w.created)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
    const reopened = await FileSessionStore.open({ directory: dir });
    expect(reopened.chainHead.seq).toBe(3);
    await reopened.close();
  });

  it("finishes reading entries when the reader does file I/O between them, and when it stops early", async () => {
    const store = await FileSessionStore.open({ directory: dir });
    for (let i = 0; i < 3; i++) await store.create(sampleRecord());
    const out = await open(join(dir, "copy.txt"), "w");
    const seen: number[] = [];
    for await (const entry of store.entries("0000-00-00", "9999-12-31")) {
      seen.push(entry.seq);
      await out.write(`${entry.digest}\n`);
      await out.datasync();
    }
    await out.close();
    expect(seen).toEqual([1, 2, 3]);
    for await (const entry of store.entries("0000-00-00", "9999-12-31")) if (entry.seq === 1) break;
    expect((await allEntries(store)).map((e) => e.seq)).toEqual([1, 2, 3]);
    await store.close();
  });

  it("cuts a torn final line (a write never acknowledged) and keeps going", async () => {
    const store = await FileSessionStore.open({ directory: dir });
    const record = sampleRecord();
    await store.create(record);
    await store.close();
    const [file] = await readdir(dir);
    await appendFile(join(dir, file ?? ""), '{"seq":2,"day":"2026');
    const reopened = await FileSessionStore.open({ directory: dir });
    expect(reopened.chainHead.seq).toBe(1);
    await reopened.create(sampleRecord());
    expect(verifyChain(await allEntries(reopened))).toEqual([]);
    await reopened.close();
  });

  it("refuses to open a journal whose content was altered", async () => {
    const store = await FileSessionStore.open({ directory: dir });
    await store.create(sampleRecord());
    await store.create(sampleRecord());
    await store.close();
    const [file] = await readdir(dir);
    const path = join(dir, file ?? "");
    const text = await readFile(path, "utf8");
    await writeFile(path, text.replace('"SELECT 1"', '"SELECT 2"'));
    await expect(FileSessionStore.open({ directory: dir })).rejects.toBeInstanceOf(JournalCorruptError);
  });

  it("refuses to open a journal with an entry removed", async () => {
    const store = await FileSessionStore.open({ directory: dir });
    for (let i = 0; i < 3; i++) await store.create(sampleRecord());
    await store.close();
    const [file] = await readdir(dir);
    const path = join(dir, file ?? "");
    const lines = (await readFile(path, "utf8")).split("\n");
    await writeFile(path, [lines[0], lines[2], ""].join("\n"));
    await expect(FileSessionStore.open({ directory: dir })).rejects.toThrow(/does not verify/);
  });
});
