// The server connection's message-size check: every message's header read however the stream is cut into chunks,
// the first one past its bound reported before its body arrives, the others let through untouched.

import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  guardMessageSizes,
  MAX_DATA_ROW_BYTES,
  MAX_OTHER_MESSAGE_BYTES,
  type OversizedMessage,
} from "#infra/local/adapters/pg-frame-guard.ts";

/** A deterministic generator (xorshift32), so a failure names its seed. */
function random(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** One backend message: its type letter and a body of `bytes` (a header may announce more than is sent). */
function message(type: string, bytes: number, announced = bytes): Buffer {
  const out = Buffer.alloc(5 + bytes, 0x61);
  out[0] = type.charCodeAt(0);
  out.writeUInt32BE(announced + 4, 1);
  return out;
}

/** Feeds `bytes` to a guarded stream in chunks of the generator's sizes; what the guard reported, and when. */
function feed(bytes: Buffer, next: (n: number) => number): { reports: OversizedMessage[]; at: number } {
  const stream = new PassThrough();
  const reports: OversizedMessage[] = [];
  let fed = 0;
  let at = -1;
  guardMessageSizes(stream, (m) => {
    reports.push(m);
    at = fed;
  });
  // What the driver's own listener would get: the guard must not consume or change it.
  const seen: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => seen.push(chunk));
  let offset = 0;
  while (offset < bytes.length) {
    const size = 1 + next(next(2) === 0 ? 7 : 30_000);
    const chunk = bytes.subarray(offset, offset + size);
    fed = offset + chunk.length;
    stream.write(chunk);
    offset += chunk.length;
  }
  expect(Buffer.concat(seen).equals(bytes)).toBe(true);
  return { reports, at };
}

describe("guardMessageSizes", () => {
  it("lets every message within its bound through, however the stream is cut (1,000 generated streams)", () => {
    for (let seed = 1; seed <= 1_000; seed++) {
      const next = random(seed);
      const parts: Buffer[] = [];
      for (let i = next(40); i >= 0; i--) {
        const type = "DTCZENSK"[next(8)] ?? "D";
        parts.push(message(type, next(4) === 0 ? next(20_000) : next(300)));
      }
      const { reports } = feed(Buffer.concat(parts), next);
      expect(reports, `seed ${seed}`).toEqual([]);
    }
  });

  it("reports the first message past its bound from its header, once, wherever the header falls", () => {
    for (let seed = 1; seed <= 1_000; seed++) {
      const next = random(seed);
      const before: Buffer[] = [];
      for (let i = next(20); i > 0; i--) before.push(message("D", next(500)));
      const row = next(2) === 0;
      const announced = (row ? MAX_DATA_ROW_BYTES : MAX_OTHER_MESSAGE_BYTES) + 1 + next(1_000_000);
      const big = message(row ? "D" : "E", next(20), announced);
      const prefix = Buffer.concat(before);
      const after = message("D", 10);
      const { reports, at } = feed(Buffer.concat([prefix, big, after]), next);
      expect(reports, `seed ${seed}`).toEqual([{ type: row ? "D" : "E", length: announced + 4 }]);
      // Reported in the chunk that completed the header: nothing past it was needed.
      expect(at, `seed ${seed}`).toBeGreaterThanOrEqual(prefix.length + 5);
      expect(at, `seed ${seed}`).toBeLessThan(prefix.length + 5 + 30_000);
    }
  });

  it("accepts a data row exactly at its bound and a length field that could not be a message's", () => {
    expect(feed(message("D", 0, MAX_DATA_ROW_BYTES), random(1)).reports).toEqual([]);
    const bad = Buffer.from([0x44, 0, 0, 0, 2]);
    expect(feed(bad, random(2)).reports).toEqual([{ type: "D", length: 2 }]);
  });
});
