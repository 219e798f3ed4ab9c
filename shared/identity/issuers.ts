// Trusted token issuers: configuration, never hard-coded (the dev IdP is added by the local host itself).

import * as z from "zod";
import { ConfigurationError } from "#shared/errors.ts";
import { parseJsonSetting } from "#shared/json-setting.ts";

/** One issuer whose tokens the gateway accepts. */
export const trustedIssuerSchema = z.object({
  /** Exact `iss` value. */
  issuer: z.url(),
  /** Where the issuer publishes its keys (GitHub Actions: `https://token.actions.githubusercontent.com/.well-known/jwks`). */
  jwksUri: z.url(),
  /** Accepted `aud` values (at least one: a token for someone else is never accepted). */
  audience: z.array(z.string().min(1)).min(1),
  /** The claim that carries group names (default `groups`). */
  groupsClaim: z.string().min(1).default("groups"),
});

/** One issuer whose tokens the gateway accepts. */
export type TrustedIssuer = z.infer<typeof trustedIssuerSchema>;

/** Parses the `PHIGATE_ISSUERS` JSON array, failing loudly with the offending path. */
export function parseTrustedIssuers(json: string | undefined): TrustedIssuer[] {
  const issuers = parseJsonSetting("PHIGATE_ISSUERS", json, z.array(trustedIssuerSchema)) ?? [];
  for (const issuer of issuers) {
    if (!issuer.jwksUri.startsWith("https://")) {
      throw new ConfigurationError(`PHIGATE_ISSUERS: jwksUri of ${issuer.issuer} must use https`);
    }
  }
  return issuers;
}
