// Trusted token issuers: configuration, never hard-coded (the dev IdP is added by the local host itself).

import * as z from "zod";
import { ConfigurationError } from "#shared/errors.ts";

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
  if (json === undefined || json.trim() === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw new ConfigurationError("PHIGATE_ISSUERS is not valid JSON", { cause });
  }
  const parsed = z.array(trustedIssuerSchema).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined ? "" : issue.path.join(".");
    throw new ConfigurationError(`PHIGATE_ISSUERS[${path}]: ${issue?.message ?? "invalid"}`);
  }
  for (const issuer of parsed.data) {
    if (!issuer.jwksUri.startsWith("https://")) {
      throw new ConfigurationError(`PHIGATE_ISSUERS: jwksUri of ${issuer.issuer} must use https`);
    }
  }
  return parsed.data;
}
