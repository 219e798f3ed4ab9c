// Object store puts of an inline-sized result: sequential latency and puts/s with 20 concurrent writers (local host).

import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileObjectStore } from "#infra/local/adapters/file-object-store.ts";
import { percentile } from "./support/stats.ts";

const SEQUENTIAL = Number(process.env.PUTS_SEQUENTIAL ?? 300);
const CONCURRENT = Number(process.env.PUTS_CONCURRENT ?? 1_000);
const WRITERS = Number(process.env.PUTS_WRITERS ?? 20);
const BODY = randomBytes(Number(process.env.PUTS_BYTES ?? 12_000));

const dir = await mkdtemp(join(tmpdir(), "phigate-puts-"));
const store = new FileObjectStore({
  directory: dir,
  linkKey: randomBytes(32),
  baseUrl: () => "http://127.0.0.1",
});
try {
  let n = 0;
  const key = () => `results/2026-12-06/ses_${String(n++).padStart(26, "0")}.json`;
  await store.put(key(), BODY, "application/json");
  const samples: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const started = performance.now();
    await store.put(key(), BODY, "application/json");
    samples.push(performance.now() - started);
  }
  let left = CONCURRENT;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (left-- > 0) await store.put(key(), BODY, "application/json");
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ p50: +percentile(samples, 50).toFixed(3), p90: +percentile(samples, 90).toFixed(3), perSecond: +(CONCURRENT / seconds).toFixed(1) })}\n`,
  );
} finally {
  await (store as { close?: () => Promise<void> }).close?.();
  await rm(dir, { recursive: true, force: true });
}
