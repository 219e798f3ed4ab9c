// Retries of requests the gateway (or API Gateway in front of it) asked to repeat: 429 and 503, honouring Retry-After.

import type { IncomingHttpHeaders } from "node:http";
import type { HttpAnswer } from "#cli/http.ts";

/** How retries are paced (tests inject `sleep`). */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly attempts: number;
  /** Longest single wait, ms (a larger Retry-After is capped). */
  readonly maxWaitMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Told before each wait (the CLI prints it on stderr). */
  readonly onRetry?: (status: number, waitMs: number) => void;
}

/** Five retries, at most 30 s apart, each announced on stderr. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  maxWaitMs: 30_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  onRetry: (status, waitMs) =>
    process.stderr.write(
      `phigate: the gateway answered ${status}; retrying in ${Math.ceil(waitMs / 1000)} s\n`,
    ),
};

/** Statuses that mean "nothing was done, try again later": throttled, or the gateway or database is unavailable. */
const RETRYABLE = new Set([429, 503]);

/** The wait an answer asks for: Retry-After (seconds or an HTTP date), else exponential backoff from 1 s. */
export function retryDelayMs(
  answer: { readonly headers: Headers | IncomingHttpHeaders },
  attempt: number,
  now = Date.now(),
): number {
  const { headers } = answer;
  const value = headers instanceof Headers ? headers.get("retry-after") : headers["retry-after"];
  const header = Array.isArray(value) ? value[0] : value;
  if (header !== null && header !== undefined) {
    const seconds = Number(header);
    if (header.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const at = Date.parse(header);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  return 1000 * 2 ** attempt;
}

/** Sends through `send`, repeated on 429 and 503 as the policy allows; the last answer is returned whatever it is. */
export async function sendWithRetry(
  send: () => Promise<HttpAnswer>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<HttpAnswer> {
  for (let attempt = 0; ; attempt++) {
    const answer = await send();
    if (!RETRYABLE.has(answer.status) || attempt >= policy.attempts) return answer;
    const wait = Math.min(retryDelayMs(answer, attempt), policy.maxWaitMs);
    answer.cancel();
    policy.onRetry?.(answer.status, wait);
    await policy.sleep(wait);
  }
}
