// The CLI retries 429 and 503 (throttled, database resuming) as the gateway asks with Retry-After, then gives up.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { callJson } from "#cli/client.ts";
import { retryDelayMs } from "#cli/retry.ts";

let server: Server | undefined;

/** A server answering the given statuses in turn (then 200), each 503/429 with its Retry-After. */
async function answering(
  statuses: readonly [number, string | undefined][],
): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  server = createServer((_req, res) => {
    const [status, retryAfter] = statuses[hits] ?? [200, undefined];
    hits++;
    res.writeHead(status, {
      "content-type": "application/json",
      ...(retryAfter === undefined ? {} : { "retry-after": retryAfter }),
    });
    res.end(status === 200 ? '{"ok":true}' : `{"error":{"code":"database_unavailable","message":"later"}}`);
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/queries`, hits: () => hits };
}

afterEach(async () => {
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

describe("callJson retries", () => {
  it("repeats 503 and 429 after the Retry-After the gateway sent, and returns the answer that follows", async () => {
    const { url, hits } = await answering([
      [503, "2"],
      [429, "1"],
    ]);
    const waits: number[] = [];
    const answer = await callJson(url, {
      method: "POST",
      body: { sql: "SELECT 1" },
      retry: { attempts: 5, maxWaitMs: 30_000, sleep: async (ms) => void waits.push(ms) },
    });
    expect(answer).toMatchObject({ status: 200, body: { ok: true } });
    expect(hits()).toBe(3);
    expect(waits).toEqual([2000, 1000]);
  });

  it("gives up after its attempts with the gateway's error, and never repeats other failures", async () => {
    const busy = await answering([
      [503, undefined],
      [503, undefined],
      [503, undefined],
    ]);
    const waits: number[] = [];
    await expect(
      callJson(busy.url, {
        method: "GET",
        retry: { attempts: 2, maxWaitMs: 30_000, sleep: async (ms) => void waits.push(ms) },
      }),
    ).rejects.toMatchObject({ code: "database_unavailable" });
    expect(waits).toEqual([1000, 2000]);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const denied = await answering([[403, undefined]]);
    await expect(
      callJson(denied.url, {
        method: "GET",
        retry: { attempts: 5, maxWaitMs: 1, sleep: async () => undefined },
      }),
    ).rejects.toMatchObject({
      exitCode: 3,
    });
    expect(denied.hits()).toBe(1);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const at = (value: string) =>
      retryDelayMs(new Response(null, { status: 503, headers: { "retry-after": value } }), 0, now);
    expect(at("7")).toBe(7000);
    expect(at("Thu, 01 Jan 2026 00:00:05 GMT")).toBe(5000);
    expect(retryDelayMs(new Response(null, { status: 503 }), 3, now)).toBe(8000);
  });
});
