// Matches a principal's verified claims against a policy matcher; glob `*` is the only wildcard.

import type { Principal } from "#shared/identity/principal.ts";
import type { ClaimMatch, PolicyDocument } from "#shared/policy/schema.ts";

/** How issuer aliases resolve at evaluation time. */
export interface MatchContext {
  /** The running dev IdP's issuer URL, or undefined when the dev IdP is off (then `dev-idp` matches nothing). */
  readonly devIssuer: string | undefined;
}

function globMatches(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  const parts = pattern.split("*");
  const first = parts[0] ?? "";
  const last = parts[parts.length - 1] ?? "";
  if (!value.startsWith(first) || value.length < first.length + last.length || !value.endsWith(last))
    return false;
  let position = first.length;
  const end = value.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = value.indexOf(middle, position);
    if (found < 0 || found + middle.length > end) return false;
    position = found + middle.length;
  }
  return true;
}

function anyMatches(patterns: readonly string[] | undefined, value: string | undefined): boolean {
  if (patterns === undefined) return true;
  if (value === undefined) return false;
  return patterns.some((p) => globMatches(p, value));
}

function resolveIssuer(alias: string, policy: PolicyDocument, context: MatchContext): string | undefined {
  if (alias.includes("://")) return alias;
  const target = policy.issuers[alias];
  if (target === "dev-idp") return context.devIssuer;
  return target;
}

/** Whether the principal satisfies every condition of the matcher. */
export function matchesClaims(
  match: ClaimMatch,
  principal: Principal,
  policy: PolicyDocument,
  context: MatchContext,
): boolean {
  const issuers = match.issuer.map((alias) => resolveIssuer(alias, policy, context));
  if (!issuers.includes(principal.issuer)) return false;
  const c = principal.claims;
  return (
    anyMatches(match.sub, principal.subject) &&
    anyMatches(match.repository, c.repository) &&
    anyMatches(match.repository_id, c.repository_id) &&
    anyMatches(match.repository_owner, c.repository_owner) &&
    anyMatches(match.workflow_ref, c.workflow_ref) &&
    anyMatches(match.job_workflow_ref, c.job_workflow_ref) &&
    anyMatches(match.ref, c.ref) &&
    anyMatches(match.environment, c.environment) &&
    (match.groups === undefined || principal.groups.some((g) => anyMatches(match.groups, g)))
  );
}
