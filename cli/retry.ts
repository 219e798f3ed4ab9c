// Retries of requests the gateway (or API Gateway in front of it) asked to repeat: 429 and 503, honouring Retry-After.

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

/** The wait a response asks for: Retry-After (seconds or an HTTP date), else exponential backoff from 1 s. */
export function retryDelayMs(response: Response, attempt: number, now = Date.now()): number {
  const header = response.headers.get("retry-after");
  if (header !== null) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const at = Date.parse(header);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  return 1000 * 2 ** attempt;
}

/** `fetch`, repeated on 429 and 503 as the policy allows; the last response is returned whatever it is. */
export async function fetchWithRetry(
  url: string,
  init: RequestInit,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, init);
    if (!RETRYABLE.has(response.status) || attempt >= policy.attempts) return response;
    const wait = Math.min(retryDelayMs(response, attempt), policy.maxWaitMs);
    await response.body?.cancel();
    policy.onRetry?.(response.status, wait);
    await policy.sleep(wait);
  }
}
