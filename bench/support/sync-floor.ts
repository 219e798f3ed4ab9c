// The durability floor: how long one append + fdatasync takes on the disk the gateway writes to, in the same run.
//
// A lone small read waits on three syncs in sequence (the write-ahead record, the result's segment, the final
// record; docs/performance.md "Disk syncs per small read"), each required by a guarantee (docs/evidence.md). So three
// times the median sync is latency no gateway keeping those guarantees on this disk can avoid, before any CPU.

import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { percentile, round, type Spread, spread } from "./stats.ts";

/** Bytes per append: about one session record version's journal line. */
const LINE_BYTES = 6 * 1024;

/** Syncs the gateway's small read waits on one after another. */
export const SYNCS_PER_READ = 3;

/** One run's figures: the p50 and p99 of `samples` append + fdatasync pairs, in ms. */
interface SyncRun {
  readonly p50: number;
  readonly p99: number;
}

/** What {@link measureSyncFloor} returns: per-run percentiles and the floor they imply for one small read. */
export interface SyncFloor {
  readonly lineBytes: number;
  readonly samplesPerRun: number;
  readonly p50: Spread;
  readonly p99: Spread;
  /** {@link SYNCS_PER_READ} × the median p50: the part of a small read's latency that durability alone takes. */
  readonly readFloorP50: number;
  readonly runs: readonly SyncRun[];
}

/** One run: appends a line and syncs it, `samples` times, through the promise API the file stores use. */
async function syncRun(dir: string, run: number, samples: number): Promise<SyncRun> {
  const path = join(dir, `sync-floor-${run}.jsonl`);
  const file = await open(path, "a", 0o600);
  const line = Buffer.alloc(LINE_BYTES, 0x61);
  line[LINE_BYTES - 1] = 0x0a;
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      await file.write(line);
      await file.datasync();
      times.push(performance.now() - started);
    }
  } finally {
    await file.close();
    await rm(path, { force: true });
  }
  return { p50: round(percentile(times, 50), 3), p99: round(percentile(times, 99), 3) };
}

/** Measures `runs` runs of `samples` syncs in `dir` (a folder on the disk the gateway's data directory is on). */
export async function measureSyncFloor(dir: string, runs = 3, samples = 200): Promise<SyncFloor> {
  const results: SyncRun[] = [];
  for (let run = 0; run < Math.max(3, runs); run++) results.push(await syncRun(dir, run, samples));
  const p50 = spread(
    results.map((r) => r.p50),
    3,
  );
  return {
    lineBytes: LINE_BYTES,
    samplesPerRun: samples,
    p50,
    p99: spread(
      results.map((r) => r.p99),
      3,
    ),
    readFloorP50: round(SYNCS_PER_READ * p50.median, 3),
    runs: results,
  };
}
