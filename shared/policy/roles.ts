// Roles from the policy: who approves and who audits.

import type { Principal } from "#shared/identity/principal.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import { type MatchContext, matchesClaims } from "#shared/policy/match.ts";

/** A role a caller can hold besides being a requester. */
export type Role = "approvers" | "auditors";

/** Whether the principal holds the role under the policy. */
export function hasRole(
  policy: LoadedPolicy,
  principal: Principal,
  role: Role,
  context: MatchContext,
): boolean {
  const definition = policy.document.roles[role];
  return definition !== undefined && matchesClaims(definition.match, principal, policy.document, context);
}
