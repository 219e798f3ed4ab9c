// Callers no policy principal matches: refused before parsing or the catalog (no database is woken), recorded one by
// one up to a per-subject threshold, then only counted per issuer, subject and window so a flood cannot fill the chain.

import { ForbiddenError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { newSessionId } from "#shared/ids.ts";
import { evaluate, matchPrincipal } from "#shared/policy/evaluate.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import { newSessionRecord, type QueryRequest, type RequestContext } from "#shared/sessions/new-record.ts";
import type { Classification } from "#shared/sql/types.ts";

/** Attempts recorded per issuer and subject in one window; later ones in the window are only counted. */
export const RECORDED_PER_WINDOW = 5;
/** The counting window. */
export const WINDOW_MS = 3_600_000;
/** Subjects tracked at once (the oldest is dropped first, so a flood of fresh subjects cannot exhaust memory). */
const MAX_TRACKED = 10_000;

/** What a refused statement is recorded with: nothing was analyzed (a default deny needs no analysis). */
function unanalyzed(paramCount: number): Classification {
  return {
    kind: "unknown",
    statementType: "unanalyzed",
    relations: [],
    columns: [],
    functions: [],
    wholeRows: [],
    outputs: [],
    limit: null,
    paramCount,
    exposures: [],
    wholeRowExposures: [],
    lookupValues: 0,
    reasons: ["not analyzed: no policy principal matches the caller"],
  };
}

interface Window {
  start: number;
  attempts: number;
}

/** Per-container counts of unknown callers' attempts (API Gateway's throttling bounds the whole). */
export class UnknownCallerLedger {
  private readonly windows = new Map<string, Window>();

  /** Counts an attempt; answers whether it is still recorded, and the window that just closed (to log), if any. */
  admit(key: string, now: number): { record: boolean; closed: Window | undefined } {
    let window = this.windows.get(key);
    let closed: Window | undefined;
    if (window !== undefined && now - window.start >= WINDOW_MS) {
      closed = window;
      window = undefined;
    }
    if (window === undefined) {
      window = { start: now, attempts: 0 };
      this.windows.delete(key);
      if (this.windows.size >= MAX_TRACKED) {
        const oldest = this.windows.keys().next();
        if (oldest.done !== true) this.windows.delete(oldest.value);
      }
      this.windows.set(key, window);
    }
    window.attempts++;
    return { record: window.attempts <= RECORDED_PER_WINDOW, closed };
  }
}

const ledger = new UnknownCallerLedger();

/** Whether any policy principal matches the caller (what a query needs before anything else is done for it). */
export function isKnownCaller(deps: Pick<SessionDeps, "policy">, principal: Principal): boolean {
  return matchPrincipal(deps.policy.current(), principal, deps.policy.context) !== undefined;
}

/**
 * Refuses a caller no principal matches: `403 policy_denied`, recorded as a rejected session (no analysis, no
 * catalog) while the caller is under its window's threshold, else only counted (no session; the count is logged
 * when the window closes).
 */
export async function refuseUnknownCaller(
  deps: Pick<SessionDeps, "policy" | "sessions" | "keys" | "clock" | "logger">,
  context: RequestContext,
  request: QueryRequest,
  counts: UnknownCallerLedger = ledger,
): Promise<never> {
  const { principal } = context;
  const now = deps.clock.now();
  const { record, closed } = counts.admit(principal.key, now.getTime());
  if (closed !== undefined && closed.attempts > RECORDED_PER_WINDOW) {
    deps.logger.warn("unknown caller attempts counted", {
      principal: principal.key,
      windowStart: new Date(closed.start).toISOString(),
      attempts: closed.attempts,
      recorded: RECORDED_PER_WINDOW,
    });
  }
  const reason = "no policy entry grants this caller any access";
  if (!record) {
    throw new ForbiddenError(
      "policy_denied",
      `${reason} (further attempts this hour are counted, not recorded)`,
    );
  }
  const policy = deps.policy.current();
  const classification = unanalyzed(request.params.length);
  const decision = evaluate(policy, principal, classification, deps.policy.context);
  const session = newSessionRecord({
    sessionId: newSessionId(now),
    status: "rejected",
    at: now,
    context,
    request,
    parameterKey: await deps.keys.key("parameter-digest"),
    classification,
    catalog: null,
    decision,
    masking: null,
    matchContext: deps.policy.context,
  });
  const { record: stored } = await deps.sessions.create(session);
  deps.logger.info("session recorded", {
    sessionId: stored.sessionId,
    status: "rejected",
    sqlDigest: stored.request.sqlDigest,
    principal: principal.key,
  });
  throw new ForbiddenError("policy_denied", reason, { sessionId: stored.sessionId });
}
