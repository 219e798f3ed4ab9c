// The principal: who is calling, derived only from verified token claims.

import * as z from "zod";

/** CI and identity claims the gateway keeps when a token carries them (GitHub Actions names). */
export const ciClaimsSchema = z
  .object({
    repository: z.string(),
    repository_id: z.string(),
    repository_owner: z.string(),
    repository_owner_id: z.string(),
    workflow_ref: z.string(),
    job_workflow_ref: z.string(),
    ref: z.string(),
    sha: z.string(),
    environment: z.string(),
    run_id: z.string(),
    run_attempt: z.string(),
    actor: z.string(),
    event_name: z.string(),
    email: z.string(),
    name: z.string(),
    preferred_username: z.string(),
  })
  .partial();

/** The claims kept from a verified token. */
export type CiClaims = z.infer<typeof ciClaimsSchema>;

/** A verified caller. */
export const principalSchema = z.object({
  issuer: z.string(),
  subject: z.string(),
  /** Stable identity of the caller across tokens: issuer and subject. */
  key: z.string(),
  audience: z.array(z.string()),
  groups: z.array(z.string()),
  claims: ciClaimsSchema,
  tokenId: z.string().optional(),
  /** Token expiry, seconds since the epoch. */
  expiresAt: z.number(),
});

/** A verified caller. */
export type Principal = z.infer<typeof principalSchema>;

/** The names of the claims kept, in the schema's order. */
export const CLAIM_NAMES: readonly (keyof CiClaims)[] = Object.keys(
  ciClaimsSchema.shape,
) as (keyof CiClaims)[];
const MAX_CLAIM_LENGTH = 512;
const MAX_GROUPS = 100;

/** The principal key for an issuer and subject. */
export function principalKey(issuer: string, subject: string): string {
  return `${issuer}#${subject}`;
}

/**
 * The principal a key names, as far as separation of duties needs it (`issuer#subject`; an OIDC issuer has no
 * fragment, so the first `#` ends it). For records that keep only the key, such as a session's approvals.
 */
export function principalOfKey(key: string): Pick<Principal, "key" | "subject"> {
  const at = key.indexOf("#");
  return { key, subject: at < 0 ? key : key.slice(at + 1) };
}

/**
 * Whether two principals count as the same person for separation of duties: the same key, or the same subject
 * under another issuer. The gateway's decision rules and the offline evidence verifier both decide by this.
 */
export function samePerson(
  a: Pick<Principal, "key" | "subject">,
  b: Pick<Principal, "key" | "subject">,
): boolean {
  return a.key === b.key || a.subject === b.subject;
}

function claimText(value: unknown): string | undefined {
  if (typeof value === "string" && value.length <= MAX_CLAIM_LENGTH) return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Builds a principal from a verified payload. Unknown or oversized claims are dropped, never trusted. */
export function principalFromClaims(
  payload: Readonly<Record<string, unknown>>,
  groupsClaim: string,
): Principal {
  const issuer = claimText(payload.iss);
  const subject = claimText(payload.sub);
  if (issuer === undefined || subject === undefined || subject === "") {
    throw new TypeError("verified token lacks iss or sub");
  }
  const claims: CiClaims = {};
  for (const name of CLAIM_NAMES) {
    const value = claimText(payload[name]);
    if (value !== undefined) claims[name] = value;
  }
  const rawGroups = payload[groupsClaim];
  const groups = Array.isArray(rawGroups)
    ? rawGroups
        .filter((g): g is string => typeof g === "string" && g.length <= MAX_CLAIM_LENGTH)
        .slice(0, MAX_GROUPS)
    : [];
  const aud = payload.aud;
  const audience =
    typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud.filter((a) => typeof a === "string") : [];
  const principal: Principal = {
    issuer,
    subject,
    key: principalKey(issuer, subject),
    audience,
    groups,
    claims,
    expiresAt: typeof payload.exp === "number" ? payload.exp : 0,
  };
  const jti = claimText(payload.jti);
  if (jti !== undefined) principal.tokenId = jti;
  return principal;
}

/**
 * The name of a principal: its verified subject at its issuer (`repo:acme/etl:ref:refs/heads/main @
 * https://token.actions.githubusercontent.com`). Claims such as `email` are what a token says about itself, never the
 * name: a caller can claim `security-team@acme.org`.
 */
export function principalName(principal: Pick<Principal, "issuer" | "subject">): string {
  return `${principal.subject} @ ${principal.issuer}`;
}

/** What a principal claims to be (email, username, name), marked as a claim; undefined when it claims nothing. */
export function claimedIdentity(principal: Pick<Principal, "claims">): string | undefined {
  const c = principal.claims;
  const parts = [
    ...(c.email === undefined ? [] : [`email ${c.email}`]),
    ...(c.preferred_username === undefined ? [] : [`username ${c.preferred_username}`]),
    ...(c.name === undefined ? [] : [`name ${c.name}`]),
  ];
  return parts.length === 0 ? undefined : `claims ${parts.join(", ")} (unverified)`;
}

/** A short human label for a principal (for pages and notifications). */
export function principalLabel(principal: Pick<Principal, "subject" | "claims">): string {
  return principal.claims.email ?? principal.claims.preferred_username ?? principal.subject;
}
