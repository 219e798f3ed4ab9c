// Analyze and decide a request, with a bounded cache: a statement seen before (same text, parameters, policy,
// caller claims and catalog) is decided without parsing, classifying or asking the planner again.

import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import { BadRequestError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { admissionKey } from "#shared/policy/admission-key.ts";
import { decideStatement, type FullDecision } from "#shared/sessions/decide.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import type { QueryRequest } from "#shared/sessions/new-record.ts";
import { windowCounter } from "#shared/sessions/read-ledger.ts";
import { type GenericStatement, genericOf } from "#shared/sql/generic-statement.ts";
import type { AnalyzedStatement } from "#shared/sql/statement-analyzer.ts";

/** A request's analysis and decision. */
export interface DecidedRequest extends FullDecision {
  readonly analyzed: AnalyzedStatement;
}

const callerKeys = new WeakMap<Principal, string>();

/** Everything about a caller a decision depends on, computed once per principal object. */
function callerKey(principal: Principal): string {
  let key = callerKeys.get(principal);
  if (key === undefined) {
    key = canonicalJson([principal.issuer, principal.subject, principal.groups, principal.claims]);
    callerKeys.set(principal, key);
  }
  return key;
}

interface CacheEntry {
  readonly analyzed: AnalyzedStatement;
  readonly result: DecidedRequest;
  readonly expiresAt: number;
}

interface EstimateEntry {
  readonly analyzed: AnalyzedStatement;
  readonly value: Promise<number>;
  readonly expiresAt: number;
}

/** Timeout of the planner's estimate asked by risk rules. */
const ESTIMATE_TIMEOUT_MS = 5_000;

/**
 * A bounded, time-limited cache of decisions. Entries are keyed by everything a decision depends on: the policy
 * digest, the caller's issuer, subject, groups and claims, whether a purpose was given, the parameters (the
 * planner's estimate depends on them) and the SQL text; an entry is used only while the analyzer still returns
 * the very same analysis (same catalog) and for at most `ttlMs` (planner estimates age).
 */
export class DecisionCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly estimates = new Map<string, EstimateEntry>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly ttlMs = 60_000,
  ) {}

  /** The cache key of a request for a caller under a policy. */
  static key(policyDigest: string, principal: Principal, request: QueryRequest): string {
    const params = request.params.length === 0 ? "[]" : canonicalJson(request.params);
    return `${policyDigest}\u0000${callerKey(principal)}\u0000${request.purpose === null ? 0 : 1}\u0000${params}\u0000${request.sql}`;
  }

  get(key: string, analyzed: AnalyzedStatement, now: number): DecidedRequest | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.analyzed !== analyzed || entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.result;
  }

  /**
   * The planner's estimate `kind` of a statement's generic plan, asked once per `ttlMs` under the same analysis
   * (catalog): a decision that counted the caller's window is made again for each request, but what the planner
   * says of the statement does not depend on the window, the caller or the parameters' values (and asking it again
   * would queue an EXPLAIN behind whatever occupies the embedded database). A failed estimate is not kept.
   */
  estimate(
    kind: "rows" | "cost",
    generic: GenericStatement,
    analyzed: AnalyzedStatement,
    now: number,
    ask: () => Promise<number>,
  ): Promise<number> {
    const key = `${kind}\u0000${generic.types.join(",")}\u0000${generic.sql}`;
    const entry = this.estimates.get(key);
    if (entry !== undefined && entry.analyzed === analyzed && entry.expiresAt > now) return entry.value;
    if (this.estimates.size >= this.maxEntries) {
      const oldest = this.estimates.keys().next();
      if (oldest.done !== true) this.estimates.delete(oldest.value);
    }
    const value = ask();
    this.estimates.set(key, { analyzed, value, expiresAt: now + this.ttlMs });
    value.catch(() => {
      if (this.estimates.get(key)?.value === value) this.estimates.delete(key);
    });
    return value;
  }

  set(key: string, result: DecidedRequest, now: number): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { analyzed: result.analyzed, result, expiresAt: now + this.ttlMs });
  }
}

/** Analyzes a request (cached by the analyzer) and decides it (cached here when `cache` is given). */
export async function decideRequest(
  deps: Pick<SessionDeps, "analyzer" | "policy" | "executor" | "clock"> &
    Partial<Pick<SessionDeps, "reads">> & {
      readonly decisions?: DecisionCache;
    },
  principal: Principal,
  request: QueryRequest,
): Promise<DecidedRequest> {
  const analyzed = await deps.analyzer.analyze(request.sql);
  const { classification } = analyzed;
  if (classification.paramCount !== request.params.length) {
    throw new BadRequestError(
      "invalid_params",
      `the statement uses ${classification.paramCount} parameter(s) but ${request.params.length} were given`,
    );
  }
  const policy = deps.policy.current();
  const now = deps.clock.now().getTime();
  const key = deps.decisions === undefined ? undefined : DecisionCache.key(policy.digest, principal, request);
  if (key !== undefined) {
    const hit = deps.decisions?.get(key, analyzed, now);
    if (hit !== undefined) return hit;
  }
  // The planner estimates the statement's generic plan: none of its values (literals or the caller's parameters)
  // reaches it. A statement with no generic form counts as unrestricted and too costly.
  const admission = admissionKey(policy, principal, deps.policy.context);
  const blindly =
    (kind: "rows" | "cost", ask: (generic: GenericStatement) => Promise<number>) => (): Promise<number> => {
      const generic = genericOf(analyzed);
      if (generic === undefined) return Promise.resolve(Number.MAX_SAFE_INTEGER);
      const cache = deps.decisions;
      return cache === undefined
        ? ask(generic)
        : cache.estimate(kind, generic, analyzed, now, () => ask(generic));
    };
  const full = await decideStatement({
    policy,
    context: deps.policy.context,
    principal,
    classification,
    purpose: request.purpose,
    estimateRows: blindly("rows", (generic) =>
      deps.executor.estimateRows(generic, ESTIMATE_TIMEOUT_MS, admission),
    ),
    ...(deps.executor.estimateCost === undefined
      ? {}
      : {
          estimateCost: blindly(
            "cost",
            (generic) =>
              deps.executor.estimateCost?.(generic, ESTIMATE_TIMEOUT_MS, admission) ??
              Promise.reject(new Error("no cost estimate")),
          ),
        }),
    ...(deps.reads === undefined ? {} : { windowRows: windowCounter(deps.reads, admission) }),
    now: deps.clock.now(),
  });
  const result: DecidedRequest = { ...full, analyzed };
  // A decision that counted the caller's recent reads holds for this moment only.
  const windowed = full.decision.windowRows !== undefined && full.decision.windowRows !== null;
  if (key !== undefined && !windowed) deps.decisions?.set(key, result, now);
  return result;
}
