// Per-caller rate limits (token buckets) with the policy's limits; callers the policy doesn't know get the defaults.

import { RateLimitedError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { matchPrincipal } from "#shared/policy/evaluate.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { MatchContext } from "#shared/policy/match.ts";

interface Bucket {
  tokens: number;
  updatedAt: number;
  perMs: number;
  burst: number;
}

/** Limits requests per caller. One process keeps its own buckets (on AWS, per container: approximate by design). */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly policy: () => LoadedPolicy,
    private readonly context: MatchContext,
    private readonly now: () => number = Date.now,
    private readonly maxCallers = 100_000,
  ) {}

  /** Takes one request from the caller's bucket, or throws `RateLimitedError` with the seconds to wait. */
  take(principal: Principal): void {
    const now = this.now();
    const bucket = this.buckets.get(principal.key) ?? this.newBucket(principal, now);
    bucket.tokens = Math.min(bucket.burst, bucket.tokens + (now - bucket.updatedAt) * bucket.perMs);
    bucket.updatedAt = now;
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / bucket.perMs / 1000));
      throw new RateLimitedError("too many requests; slow down", {
        details: { retryAfterSeconds: retryAfter },
      });
    }
    bucket.tokens -= 1;
  }

  private newBucket(principal: Principal, now: number): Bucket {
    const loaded = this.policy();
    const defaults = loaded.document.defaults;
    const limits = matchPrincipal(loaded, principal, this.context)?.limits;
    const perMinute = limits?.requestsPerMinute ?? defaults.requestsPerMinute;
    const burst = limits?.burst ?? defaults.burst;
    if (this.buckets.size >= this.maxCallers) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
    const bucket = { tokens: burst, updatedAt: now, perMs: perMinute / 60_000, burst };
    this.buckets.set(principal.key, bucket);
    return bucket;
  }
}
