// Time budgets of Data API work: calls clamped to the invocation's remaining time and to the Data API's 45 s per
// call, and a paused Aurora Serverless v2 cluster waited for (DatabaseResumingException) while the budget allows.

import { UnavailableError } from "#shared/errors.ts";
import { remainingInvocationMs } from "./invocation-deadline.ts";

/** The Data API ends a call after 45 s (unless continueAfterTimeout): a statement must finish well before. */
export const DATA_API_CALL_LIMIT_MS = 45_000;

/** Time kept back from the invocation for what follows the statement (recording the session, answering). */
export const RESERVE_MS = 4_000;

/** The shortest statement worth starting. */
const MIN_STATEMENT_MS = 1_000;

/**
 * The statement timeout to use: the requested one, at most what the Data API allows per call (less a margin for the
 * call itself) and what the invocation has left after its reserve. Refuses with 503 when too little is left.
 */
export function clampTimeout(requestedMs: number, slackMs: number): number {
  const left = remainingInvocationMs() - RESERVE_MS - slackMs;
  const clamped = Math.min(requestedMs, DATA_API_CALL_LIMIT_MS - slackMs, left);
  if (clamped < MIN_STATEMENT_MS) {
    throw new UnavailableError(
      "database_unavailable",
      "too little time is left in this invocation to run the statement; retry",
    );
  }
  return Math.floor(clamped);
}

/** How long a rollback may take before it is left to the Data API to expire. */
export const ROLLBACK_LIMIT_MS = 2_000;

/**
 * How long one Data API call outside a statement (a begin) may wait: the Data API's 45 s, at most what the invocation
 * has left after its reserve, and at least a moment (a budget already spent is refused by {@link clampTimeout}).
 */
export function callBudgetMs(): number {
  return Math.max(100, Math.min(DATA_API_CALL_LIMIT_MS, Math.floor(remainingInvocationMs() - RESERVE_MS)));
}

/** Aurora Serverless v2 resumes in about 15 s; eight waits (1, 2, 4, then 8 s) cover a minute. */
const MAX_RESUME_ATTEMPTS = 8;

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : "";
}

/**
 * Calls `begin` and, while the cluster resumes from auto-pause (DatabaseResumingException), waits 1, 2, 4, 8… s and
 * calls again, as long as the invocation's budget (less its reserve) can absorb the wait; then lets the error through.
 */
export async function resumeTolerant<T>(
  begin: () => Promise<T>,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await begin();
    } catch (error) {
      const wait = Math.min(1_000 * 2 ** attempt, 8_000);
      const resuming = nameOf(error) === "DatabaseResumingException";
      if (
        !resuming ||
        attempt >= MAX_RESUME_ATTEMPTS ||
        remainingInvocationMs() - RESERVE_MS - MIN_STATEMENT_MS < wait
      )
        throw error;
      await sleep(wait);
    }
  }
}
