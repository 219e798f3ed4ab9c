// Data API time budgets: statement timeouts clamped to the invocation's remaining time and the 45 s call limit, and
// a resuming cluster waited for only while the budget allows.

import { describe, expect, it } from "vitest";
import {
  EDGE_REPLY_MS,
  EDGE_TIMEOUT_MS,
  edgeDeadline,
  remainingInvocationMs,
  withInvocationDeadline,
} from "#infra/aws/adapters/invocation-deadline.ts";
import {
  callBudgetMs,
  clampTimeout,
  DATA_API_CALL_LIMIT_MS,
  RESERVE_MS,
  resumeTolerant,
} from "#infra/aws/adapters/rds-data-budget.ts";

const within = <T>(ms: number, run: () => Promise<T>) =>
  withInvocationDeadline({ getRemainingTimeInMillis: () => ms }, run);

const resuming = () => Object.assign(new Error("resuming"), { name: "DatabaseResumingException" });

describe("clampTimeout", () => {
  it("keeps the policy's timeout when it fits, caps it below the Data API's 45 s per call", async () => {
    expect(clampTimeout(5_000, 2_000)).toBe(5_000);
    expect(clampTimeout(3_600_000, 2_000)).toBe(43_000);
  });

  it("clamps to what the invocation has left after its reserve, and refuses when too little is left", async () => {
    await within(20_000, async () => {
      expect(clampTimeout(60_000, 2_000)).toBeLessThanOrEqual(20_000 - RESERVE_MS - 2_000);
      expect(clampTimeout(60_000, 2_000)).toBeGreaterThan(13_000);
    });
    await within(6_000, async () => {
      expect(() => clampTimeout(5_000, 2_000)).toThrow(/too little time/);
    });
  });
});

describe("the invocation's deadline", () => {
  it("is API Gateway's when the edge spent part of its time before the invocation began (a cold start)", async () => {
    const now = Date.now();
    const edge = edgeDeadline(now - 24_000, now);
    expect(edge).toBe(now - 24_000 + EDGE_TIMEOUT_MS - EDGE_REPLY_MS);
    await withInvocationDeadline(
      { getRemainingTimeInMillis: () => 29_000 },
      async () => {
        expect(remainingInvocationMs()).toBeLessThanOrEqual(EDGE_TIMEOUT_MS - EDGE_REPLY_MS - 24_000);
        expect(() => clampTimeout(60_000, 2_000)).toThrow(/too little time/);
      },
      edge,
    );
    // Lambda's own deadline when it comes first; none at all outside an invocation and outside the edge.
    await withInvocationDeadline(
      { getRemainingTimeInMillis: () => 5_000 },
      async () => {
        expect(remainingInvocationMs()).toBeLessThanOrEqual(5_000);
      },
      edgeDeadline(Date.now()),
    );
    await withInvocationDeadline(undefined, async () => {
      expect(remainingInvocationMs()).toBe(Number.POSITIVE_INFINITY);
    });
  });

  it("bounds a call outside a statement (a begin) by what the invocation has left after its reserve", async () => {
    expect(callBudgetMs()).toBe(DATA_API_CALL_LIMIT_MS);
    await within(20_000, async () => {
      expect(callBudgetMs()).toBeLessThanOrEqual(20_000 - RESERVE_MS);
      expect(callBudgetMs()).toBeGreaterThan(15_000 - RESERVE_MS);
    });
    await within(RESERVE_MS - 1_000, async () => expect(callBudgetMs()).toBe(100));
  });

  it("counts a time stamp from the future as now, and ignores one that is not a number", () => {
    const now = Date.now();
    expect(edgeDeadline(now + 60_000, now)).toBe(now + EDGE_TIMEOUT_MS - EDGE_REPLY_MS);
    for (const bad of [undefined, "1", Number.NaN, Number.POSITIVE_INFINITY, null]) {
      expect(edgeDeadline(bad, now)).toBeUndefined();
    }
  });
});

describe("resumeTolerant", () => {
  it("retries a resuming cluster with growing waits until it answers", async () => {
    const waits: number[] = [];
    let failures = 3;
    const result = await resumeTolerant(
      async () => {
        if (failures-- > 0) throw resuming();
        return "begun";
      },
      async (ms) => {
        waits.push(ms);
      },
    );
    expect(result).toBe("begun");
    expect(waits).toEqual([1_000, 2_000, 4_000]);
  });

  it("gives up when the invocation cannot afford the next wait, and never retries other errors", async () => {
    await within(6_000, async () => {
      await expect(
        resumeTolerant(
          async () => Promise.reject(resuming()),
          async () => undefined,
        ),
      ).rejects.toThrow("resuming");
    });
    let calls = 0;
    await expect(
      resumeTolerant(async () => {
        calls++;
        throw new Error("AccessDenied");
      }),
    ).rejects.toThrow("AccessDenied");
    expect(calls).toBe(1);
  });
});
