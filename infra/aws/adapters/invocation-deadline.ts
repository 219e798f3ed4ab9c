// The current Lambda invocation's deadline, so calls deep in the core can be clamped to the time Lambda has left.

import { AsyncLocalStorage } from "node:async_hooks";

const deadlines = new AsyncLocalStorage<number>();

/** Lambda's context, as far as the deadline goes. */
export interface DeadlineContext {
  getRemainingTimeInMillis?(): number;
}

/** Runs one invocation with its deadline (`context.getRemainingTimeInMillis()`; none outside Lambda). */
export function withInvocationDeadline<T>(
  context: DeadlineContext | undefined,
  run: () => Promise<T>,
): Promise<T> {
  const remaining = context?.getRemainingTimeInMillis?.();
  if (remaining === undefined || !Number.isFinite(remaining)) return run();
  return deadlines.run(Date.now() + remaining, run);
}

/** Milliseconds the current invocation has left (Infinity outside an invocation with a deadline). */
export function remainingInvocationMs(): number {
  const deadline = deadlines.getStore();
  return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
}
