// Rate limits (token buckets) per policy principal entry with its limits; callers no entry matches get the defaults.

import { RateLimitedError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { admissionKeyOf } from "#shared/policy/admission-key.ts";
import { matchPrincipal } from "#shared/policy/evaluate.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { MatchContext } from "#shared/policy/match.ts";
import type { PrincipalEntry } from "#shared/policy/schema.ts";

interface Bucket {
  tokens: number;
  updatedAt: number;
  perMs: number;
  burst: number;
}

/** Limits requests per admission key (every subject of one policy principal entry shares a bucket). One process keeps its own buckets (on AWS, per container: approximate by design). */
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
    const loaded = this.policy();
    const entry = matchPrincipal(loaded, principal, this.context);
    const key = admissionKeyOf(entry?.id ?? null, principal.key);
    const bucket = this.buckets.get(key) ?? this.newBucket(key, entry?.limits, loaded, now);
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

  private newBucket(
    key: string,
    limits: PrincipalEntry["limits"] | undefined,
    loaded: LoadedPolicy,
    now: number,
  ): Bucket {
    const defaults = loaded.document.defaults;
    const perMinute = limits?.requestsPerMinute ?? defaults.requestsPerMinute;
    const burst = limits?.burst ?? defaults.burst;
    if (this.buckets.size >= this.maxCallers) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
    const bucket = { tokens: burst, updatedAt: now, perMs: perMinute / 60_000, burst };
    this.buckets.set(key, bucket);
    return bucket;
  }
}
