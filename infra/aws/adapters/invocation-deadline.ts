// The current Lambda invocation's deadline, so calls deep in the core can be clamped to the time Lambda has left.

import { AsyncLocalStorage } from "node:async_hooks";

const deadlines = new AsyncLocalStorage<number>();

/** Lambda's context, as far as the deadline goes. */
export interface DeadlineContext {
  getRemainingTimeInMillis?(): number;
}

/**
 * API Gateway's integration timeout for the HTTP API's routes, which the stack sets: 29 s, the most CDK lets an HTTP
 * integration ask for (the HTTP API's own default is 30 s), and the query route's function timeout. It runs while a
 * cold start or a wait for a free environment runs, before Lambda's own deadline starts.
 */
export const EDGE_TIMEOUT_MS = 29_000;

/** Time kept back from the edge's timeout for the answer's way back through API Gateway. */
export const EDGE_REPLY_MS = 500;

/**
 * When a route's work must be done for the caller to get its answer: API Gateway gives up `EDGE_TIMEOUT_MS` after it
 * received the request (`requestContext.timeEpoch`) and answers a bare 503 of its own, without the session id; a cold
 * start or a wait for a free environment spends that time before Lambda's own deadline starts. A time stamp from the
 * future (clocks a little apart) counts as now; an event without one has no edge deadline.
 */
export function edgeDeadline(timeEpoch: unknown, now: number = Date.now()): number | undefined {
  if (typeof timeEpoch !== "number" || !Number.isFinite(timeEpoch)) return undefined;
  return Math.min(timeEpoch, now) + EDGE_TIMEOUT_MS - EDGE_REPLY_MS;
}

/**
 * Runs one invocation with its deadline: `context.getRemainingTimeInMillis()` (none outside Lambda), or `notAfter`
 * (an epoch in ms, the edge's deadline) when that comes first.
 */
export function withInvocationDeadline<T>(
  context: DeadlineContext | undefined,
  run: () => Promise<T>,
  notAfter?: number,
): Promise<T> {
  const remaining = context?.getRemainingTimeInMillis?.();
  const own = remaining === undefined || !Number.isFinite(remaining) ? undefined : Date.now() + remaining;
  const deadline = own === undefined ? notAfter : notAfter === undefined ? own : Math.min(own, notAfter);
  return deadline === undefined ? run() : deadlines.run(deadline, run);
}

/** Milliseconds the current invocation has left (Infinity outside an invocation with a deadline). */
export function remainingInvocationMs(): number {
  const deadline = deadlines.getStore();
  return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
}
