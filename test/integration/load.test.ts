// Load (issue 9): concurrent clients sending a mix of allowed, denied and approval-bound statements — no unexpected
// status, every answered session recorded exactly once with the right status, and the hash chain intact.
// `npm test` runs 50 clients x 100 queries; `npm run soak` runs the 50 x 1,000.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSessionStore } from "#infra/local/adapters/file-session-store.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { isSessionEntry, verifyChain } from "#shared/sessions/chain.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";
import {
  EXPECTED_STATUS,
  mixedRequest,
  percentile,
  type Received,
  sessionIdOf,
  withHighRateLimits,
  withLargeWindow,
} from "#test/support/load.ts";

const CLIENTS = 50;
const PER_CLIENT = Number(process.env.PHIGATE_SOAK_QUERIES ?? 100);

describe(`load: ${CLIENTS} clients x ${PER_CLIENT} queries`, () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({
      policy: withLargeWindow(withHighRateLimits(await readFile("policy/demo.yaml", "utf8"))),
    });
  });
  afterAll(async () => gw?.close());

  it("answers every query as expected, records each exactly once, and keeps one unbroken chain", async () => {
    const token = await gw.token(NIGHTLY);
    const received: Received[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let j = 0; j < PER_CLIENT; j++) {
          const { kind, body } = mixedRequest(client * PER_CLIENT + j);
          const t0 = performance.now();
          const answer = await gw.query(token, body);
          received.push({
            kind,
            status: answer.status,
            sessionId: sessionIdOf(answer.body),
            ms: performance.now() - t0,
          });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const unexpected = received.filter((r) => r.status !== EXPECTED_STATUS[r.kind]);
    const latencies = received.map((r) => r.ms);
    console.info(
      `load: ${received.length} queries in ${seconds.toFixed(1)} s = ${(received.length / seconds).toFixed(0)}/s; ` +
        `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; unexpected ${unexpected.length}`,
    );
    expect(unexpected.slice(0, 5)).toEqual([]);

    await gw.host.close();
    const store = await FileSessionStore.open({ directory: join(gw.dataDir, "sessions") });
    const entries: ChainEntry[] = [];
    for await (const entry of store.entries("0000-00-00", "9999-12-31")) entries.push(entry);
    await store.close();
    expect(verifyChain(entries)).toEqual([]);
    const latest = new Map<string, SessionRecord>();
    for (const entry of entries.filter(isSessionEntry)) latest.set(entry.record.sessionId, entry.record);
    const answered = received.map((r) => r.sessionId);
    expect(answered.every((id) => id !== undefined)).toBe(true);
    expect(new Set(answered).size).toBe(received.length);
    const lost = received.filter((r) => {
      const record = r.sessionId === undefined ? undefined : latest.get(r.sessionId);
      const wanted = { allowed: "completed", denied: "rejected", approval: "pending_approval" }[r.kind];
      return record?.status !== wanted;
    });
    console.info(
      `load: ${entries.length} chain entries verified, ${latest.size} sessions, ${lost.length} answered sessions without their record`,
    );
    expect(lost.length).toBe(0);
  }, 1_800_000);
});
