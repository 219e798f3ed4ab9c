// Record appends per second with 50 writers on the local journal, without and with the log sequencer (same run): `npx tsx bench/log.ts`.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { FileCheckpointStore } from "#infra/local/adapters/file-checkpoint-store.ts";
import { FileSessionStore } from "#infra/local/adapters/file-session-store.ts";
import { LocalSigner } from "#infra/local/adapters/local-signer.ts";
import { ALL_DAYS, createLogSequencer } from "#shared/log/open-log.ts";
import type { LogSequencer } from "#shared/log/sequencer.ts";
import { transition } from "#shared/sessions/record.ts";
import { sampleRecord } from "#test/support/records.ts";

/** Median, lowest and highest of a series. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)] ?? 0, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 };
}

async function round(withLog: boolean, writers: number, seconds: number) {
  const dir = await mkdtemp(join(tmpdir(), "phigate-bench-log-"));
  try {
    const signer = await LocalSigner.open(join(dir, "keys"));
    let log: LogSequencer | undefined;
    if (withLog)
      log = await createLogSequencer(signer, new FileCheckpointStore(join(dir, "log", "checkpoints")));
    const store = await FileSessionStore.open({
      directory: join(dir, "sessions"),
      ...(log === undefined ? {} : { onDurable: (entries) => log?.accept(entries) }),
    });
    await log?.start(store.entries(ALL_DAYS.from, ALL_DAYS.to));
    let commits = 0;
    const deadline = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (performance.now() < deadline) {
          const record = sampleRecord();
          await store.create(record);
          await store.update(transition(record, "completed", new Date()));
          commits += 2;
        }
      }),
    );
    const perSec = commits / ((performance.now() - started) / 1000);
    await log?.close();
    await store.close();
    return { perSec, maxMergeDelayMs: log?.stats.maxMergeDelayMs ?? 0, batches: log?.stats.batches ?? 0 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Appends/s before (journal only) and after (journal + sequencer), alternating rounds; the largest merge delay seen. */
export async function benchLog(writers = 50, seconds = 3, rounds = 5) {
  const before: number[] = [];
  const after: number[] = [];
  let maxMergeDelayMs = 0;
  let checkpoints = 0;
  for (let i = 0; i < rounds; i++) {
    before.push((await round(false, writers, seconds)).perSec);
    const withLog = await round(true, writers, seconds);
    after.push(withLog.perSec);
    maxMergeDelayMs = Math.max(maxMergeDelayMs, withLog.maxMergeDelayMs);
    checkpoints += withLog.batches;
  }
  return {
    writers,
    seconds,
    rounds,
    before: spread(before),
    after: spread(after),
    maxMergeDelayMs,
    checkpoints,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const r = await benchLog();
  const f = (s: Spread) =>
    `median ${s.median.toFixed(0)}/s (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`;
  console.log(
    `record appends, ${r.writers} writers, ${r.rounds} × ${r.seconds} s: before (journal) ${f(r.before)}; after (journal + log) ${f(r.after)}; max merge delay ${r.maxMergeDelayMs.toFixed(0)} ms over ${r.checkpoints} checkpoints`,
  );
}
