// The admission key: what the read ledger, turns, executor caps and rate limits count a caller by (its policy principal).

import type { Principal } from "#shared/identity/principal.ts";
import { matchPrincipal } from "#shared/policy/evaluate.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { MatchContext } from "#shared/policy/match.ts";

const PREFIX = "policy-principal:";

/**
 * The admission key for a decision's matched policy principal entry: every subject the entry matches (one per
 * branch, workflow or environment under a `repository_id` match) shares it, so they share one window, one turn
 * and one fair share. A caller no entry matches keeps its own key (`issuer#subject`). The key never contains `#`
 * when an entry matched (ids are kebab-case), so it cannot collide with a principal key.
 */
export function admissionKeyOf(matchedPrincipal: string | null, principalKey: string): string {
  return matchedPrincipal === null ? principalKey : `${PREFIX}${matchedPrincipal}`;
}

/** The admission key of a caller under a policy: its first matching principal entry's, or its own key. */
export function admissionKey(policy: LoadedPolicy, principal: Principal, context: MatchContext): string {
  return admissionKeyOf(matchPrincipal(policy, principal, context)?.id ?? null, principal.key);
}
