// Mixed query load for the load and crash tests: allowed, denied and approval-bound statements, with the
// status each must get and every response kept for the checks that follow.

/** What a statement of the mix is expected to get. */
export type Expectation = "allowed" | "denied" | "approval";

/** One response a client received. */
export interface Received {
  readonly kind: Expectation;
  readonly status: number;
  readonly sessionId: string | undefined;
  readonly ms: number;
}

/** The status each kind must get. */
export const EXPECTED_STATUS: Readonly<Record<Expectation, number>> = {
  allowed: 200,
  denied: 403,
  approval: 202,
};

/** The i-th request of the mix (70 % allowed, 20 % denied, 10 % sent to approval), deterministic. */
export function mixedRequest(i: number): { kind: Expectation; body: Record<string, unknown> } {
  const slot = i % 10;
  if (slot < 7) {
    return {
      kind: "allowed",
      body: { sql: "SELECT id, department FROM encounters WHERE id = $1", params: [(i % 50_000) + 1] },
    };
  }
  if (slot < 9)
    return {
      kind: "denied",
      body: { sql: "SELECT pg_sleep(0), id FROM encounters WHERE id = $1", params: [i] },
    };
  return {
    kind: "approval",
    body: { sql: "SELECT id FROM patients WHERE ssn = $1 LIMIT 5", params: [`${i % 10}`] },
  };
}

/** The session id of an answer, wherever the contract puts it. */
export function sessionIdOf(body: unknown): string | undefined {
  const b = body as { sessionId?: unknown; error?: { sessionId?: unknown } } | undefined;
  const id = b?.sessionId ?? b?.error?.sessionId;
  return typeof id === "string" ? id : undefined;
}

/** The p-th percentile of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * The demo policy with a window of a million PHI rows for its two window rules, for suites that check masking, load or
 * logging over many statements of one caller rather than the window (risk-by-slices and risk-by-reads do). The
 * rule's threshold is also what a predicate must restrict to, so such a suite's reads with a predicate run; reads
 * with none, and statements whose rows cannot be counted, still need the approval.
 */
export function withLargeWindow(demo: string): string {
  const bulk = "        unlessLimitAtMost: 1000\n";
  const history = "        joinWithoutPredicate: [public.patients, public.encounters]\n";
  if (!demo.includes(bulk) || !demo.includes(history))
    throw new Error("the demo policy's window rules changed");
  const large = "        restrictedRowsAtMost: 1000000\n";
  return demo.replace(bulk, `${bulk}${large}`).replace(history, `${history}${large}`);
}

/** The demo policy with rate limits high enough for a load test (the limits themselves are tested elsewhere). */
export function withHighRateLimits(demo: string): string {
  const from = "statementTimeoutMs: 5000";
  if (!demo.includes(from)) throw new Error("the demo policy's defaults changed");
  return demo.replace(from, `${from}\n  requestsPerMinute: 1000000\n  burst: 100000`);
}
