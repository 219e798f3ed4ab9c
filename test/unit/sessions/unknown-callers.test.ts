// The ledger of unknown callers' attempts: recorded up to a threshold per subject and window, then counted.

import { describe, expect, it } from "vitest";
import { RECORDED_PER_WINDOW, UnknownCallerLedger, WINDOW_MS } from "#shared/sessions/unknown-callers.ts";

describe("UnknownCallerLedger", () => {
  it("records the first attempts of a subject in a window, counts the rest, and starts over in the next window", () => {
    const ledger = new UnknownCallerLedger();
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const admitted = Array.from(
      { length: RECORDED_PER_WINDOW + 3 },
      (_, i) => ledger.admit("iss#mallory", t0 + i).record,
    );
    expect(admitted.filter(Boolean)).toHaveLength(RECORDED_PER_WINDOW);
    expect(admitted.slice(RECORDED_PER_WINDOW)).toEqual([false, false, false]);
    expect(ledger.admit("iss#eve", t0).record).toBe(true);
    const next = ledger.admit("iss#mallory", t0 + WINDOW_MS);
    expect(next.record).toBe(true);
    expect(next.closed).toEqual({ start: t0, attempts: RECORDED_PER_WINDOW + 3 });
  });
});
