// Long-polls a session until it ends (a result or why it will not come) or a deadline passes (it is still waiting).

import { type GatewayClient, GatewayTransportError } from "#shared/gateway-client/gateway-client.ts";
import { type SessionOutcome, sessionOutcome, type Waiting } from "#shared/gateway-client/outcomes.ts";

/** The longest long-poll the gateway grants, seconds (contract §2). */
export const MAX_WAIT_SECONDS = 20;

/** Consecutive transport failures tolerated while waiting (with a growing pause between them). */
const MAX_UNREACHABLE = 5;

/** How to wait. */
export interface AwaitOptions {
  /** Stop waiting at this time (ms since the epoch) and return the last `waiting` state; absent: until it ends. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /** Told every state seen while waiting (for progress lines and notices). */
  readonly onWaiting?: (state: Waiting) => void;
  readonly now?: () => number;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Reads the session once at once, then long-polls `GET /v1/sessions/{id}?wait=…` until it is completed (the
 * result), ends without a result (a failure: denied, rejected, expired, failed, or an HTTP error), or `deadline`
 * passes (the last `waiting` state). A briefly unreachable gateway is retried a few times; `signal` aborts.
 */
export async function awaitSession(
  client: GatewayClient,
  sessionId: string,
  options: AwaitOptions = {},
): Promise<SessionOutcome> {
  const now = options.now ?? Date.now;
  let unreachable = 0;
  let wait = 0;
  for (;;) {
    let outcome: SessionOutcome;
    try {
      outcome = sessionOutcome(await client.getSession(sessionId, wait, options.signal));
      unreachable = 0;
    } catch (error) {
      if (!(error instanceof GatewayTransportError) || error.code !== "unreachable") throw error;
      if (++unreachable > MAX_UNREACHABLE) throw error;
      await sleep(1_000 * unreachable, options.signal);
      continue;
    }
    if (outcome.kind !== "waiting") return outcome;
    options.onWaiting?.(outcome);
    const left =
      options.deadline === undefined ? MAX_WAIT_SECONDS : Math.floor((options.deadline - now()) / 1000);
    if (left <= 0) return outcome;
    wait = Math.min(MAX_WAIT_SECONDS, left);
  }
}
