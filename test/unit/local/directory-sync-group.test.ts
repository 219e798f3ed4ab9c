// Directory fsync group commit: each caller waits for a sync started after its call; concurrent callers share one.

import { describe, expect, it } from "vitest";
import { DirectorySyncGroup } from "#infra/local/adapters/atomic-file.ts";

/** A fake directory sync whose completions the test controls, logging when each starts and ends. */
function controlledSync(): {
  sync: (path: string) => Promise<void>;
  events: string[];
  finish: (error?: Error) => void;
} {
  const events: string[] = [];
  const pending: { path: string; resolve: () => void; reject: (error: Error) => void }[] = [];
  return {
    events,
    sync: (path) =>
      new Promise<void>((resolve, reject) => {
        events.push(`start ${path}`);
        pending.push({ path, resolve, reject });
      }),
    finish: (error) => {
      const next = pending.shift();
      if (next === undefined) throw new Error("no sync is running");
      events.push(`end ${next.path}`);
      if (error === undefined) next.resolve();
      else next.reject(error);
    },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe("DirectorySyncGroup", () => {
  it("shares one later sync among the callers that arrive while a sync is in flight", async () => {
    const fake = controlledSync();
    const group = new DirectorySyncGroup(fake.sync);
    const done: string[] = [];
    const first = group.run("/d").then(() => done.push("first"));
    const later = [1, 2, 3, 4].map((n) => group.run("/d").then(() => done.push(`later ${n}`)));
    await settle();
    expect(fake.events).toEqual(["start /d"]);
    fake.finish();
    await first;
    await settle();
    expect(done).toEqual(["first"]);
    expect(fake.events).toEqual(["start /d", "end /d", "start /d"]);
    fake.finish();
    await Promise.all(later);
    expect(done).toHaveLength(5);
    expect(fake.events).toEqual(["start /d", "end /d", "start /d", "end /d"]);
  });

  it("never lets a caller finish on a sync that started before its call", async () => {
    const fake = controlledSync();
    const group = new DirectorySyncGroup(fake.sync);
    let lateDone = false;
    const early = group.run("/d");
    await settle();
    const late = group.run("/d").then(() => {
      lateDone = true;
    });
    fake.finish();
    await early;
    await settle();
    expect(lateDone).toBe(false);
    fake.finish();
    await late;
    expect(lateDone).toBe(true);
  });

  it("syncs each directory on its own, and a lone caller after a quiet spell syncs at once", async () => {
    const fake = controlledSync();
    const group = new DirectorySyncGroup(fake.sync);
    const a = group.run("/a");
    const b = group.run("/b");
    await settle();
    expect(fake.events).toEqual(["start /a", "start /b"]);
    fake.finish();
    fake.finish();
    await Promise.all([a, b]);
    const again = group.run("/a");
    await settle();
    expect(fake.events.at(-1)).toBe("start /a");
    fake.finish();
    await again;
  });

  it("passes a failed sync to its callers, and the next group still gets its own sync", async () => {
    const fake = controlledSync();
    const group = new DirectorySyncGroup(fake.sync);
    const first = group.run("/d");
    const second = group.run("/d");
    await settle();
    fake.finish(new Error("EIO"));
    await expect(first).rejects.toThrow("EIO");
    await settle();
    fake.finish();
    await expect(second).resolves.toBeUndefined();
    expect(fake.events).toEqual(["start /d", "end /d", "start /d", "end /d"]);
  });
});
