// Verifies bearer tokens with aws-jwt-verify against every trusted issuer and turns them into principals.

import { JwtVerifier } from "aws-jwt-verify";
import {
  JwtExpiredError,
  JwtInvalidAudienceError,
  JwtInvalidIssuerError,
  JwtInvalidSignatureAlgorithmError,
  JwtInvalidSignatureError,
  JwtNotBeforeError,
  JwtParseError,
  ParameterValidationError,
} from "aws-jwt-verify/error";
import type { Jwks } from "aws-jwt-verify/jwk";
import type { JwtHeader, JwtPayload } from "aws-jwt-verify/jwt-model";
import { AuthenticationError } from "#shared/errors.ts";
import type { TrustedIssuer } from "#shared/identity/issuers.ts";
import { type Principal, principalFromClaims } from "#shared/identity/principal.ts";

/** Turns a bearer token into a principal or throws `AuthenticationError`. */
export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

/** An issuer whose keys are known in-process (the dev IdP), so they are never fetched over the network. */
export interface InProcessIssuer extends TrustedIssuer {
  readonly jwks: Jwks;
}

/** Options of the verifier. */
export interface TokenVerifierOptions {
  /** Clock skew tolerated on `exp`/`nbf`/`iat`, in seconds. */
  readonly graceSeconds?: number;
  /** Tokens valid for longer than this are refused (short-lived tokens only). */
  readonly maxLifetimeSeconds?: number;
  /**
   * How many verified tokens to remember until they expire (0: none). A token is only ever matched by its exact
   * bytes; a key the issuer revokes stops new tokens at once and cached ones at their (short) expiry.
   */
  readonly cacheSize?: number;
}

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8192;

const FORBIDDEN_HEADERS = ["jku", "jwk", "x5u", "x5c", "crit"];

function reasonOf(error: unknown): string {
  if (error instanceof JwtExpiredError) return "token expired";
  if (error instanceof JwtNotBeforeError) return "token not yet valid";
  if (error instanceof JwtInvalidIssuerError) return "token issuer is not trusted";
  if (
    error instanceof ParameterValidationError &&
    /^issuer (not configured|must be provided)/.test(error.message)
  ) {
    return "token issuer is not trusted";
  }
  if (error instanceof JwtInvalidAudienceError) return "token audience is not accepted";
  if (error instanceof JwtInvalidSignatureAlgorithmError) return "token signature algorithm is not accepted";
  if (error instanceof JwtInvalidSignatureError) return "token signature is invalid";
  if (error instanceof JwtParseError) return "token is malformed";
  if (error instanceof AuthenticationError) return error.message;
  return "token could not be verified";
}

/**
 * Creates a verifier trusting the given issuers (several at once: dev IdP, GitHub Actions, a corporate IdP).
 * Only asymmetric algorithms are accepted (aws-jwt-verify refuses `none` and HMAC); key-carrying headers
 * (`jku`, `jwk`, `x5u`, `x5c`) and `crit` are refused outright.
 */
export function createTokenVerifier(
  issuers: readonly (TrustedIssuer | InProcessIssuer)[],
  options: TokenVerifierOptions = {},
): TokenVerifier {
  const graceSeconds = options.graceSeconds ?? 30;
  const maxLifetime = options.maxLifetimeSeconds ?? 24 * 3600;
  if (issuers.length === 0) {
    return {
      verify: () => Promise.reject(new AuthenticationError("no token issuer is configured")),
    };
  }
  const groupsClaims = new Map(issuers.map((i) => [i.issuer, i.groupsClaim]));
  const cacheSize = options.cacheSize ?? 10_000;
  /** Tokens already verified (the exact bytes), until they expire: a repeated token skips the signature check. */
  const verified = new Map<string, Principal>();
  const verifier = JwtVerifier.create(
    issuers.map((i) => ({
      issuer: i.issuer,
      jwksUri: i.jwksUri,
      audience: [...i.audience],
      graceSeconds,
      customJwtCheck: ({ header, payload }: { header: JwtHeader; payload: JwtPayload }) => {
        for (const name of FORBIDDEN_HEADERS) {
          if (name in header) throw new AuthenticationError(`token header ${name} is not accepted`);
        }
        if (typeof payload.exp !== "number") throw new AuthenticationError("token has no expiry");
        const issuedAt = typeof payload.iat === "number" ? payload.iat : Math.floor(Date.now() / 1000);
        if (payload.exp - issuedAt > maxLifetime) throw new AuthenticationError("token lifetime is too long");
        if (typeof payload.iat === "number" && payload.iat > Date.now() / 1000 + graceSeconds) {
          throw new AuthenticationError("token issued in the future");
        }
      },
    })),
  );
  for (const issuer of issuers) {
    if ("jwks" in issuer) verifier.cacheJwks(issuer.jwks, issuer.issuer);
  }
  return {
    async verify(token: string): Promise<Principal> {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw new AuthenticationError(token.length === 0 ? "missing bearer token" : "token is too large");
      }
      const known = verified.get(token);
      if (known !== undefined) {
        if (known.expiresAt * 1000 > Date.now()) return known;
        verified.delete(token);
      }
      let payload: Record<string, unknown>;
      try {
        payload = (await verifier.verify(token)) as Record<string, unknown>;
      } catch (error) {
        throw new AuthenticationError(reasonOf(error), { cause: error });
      }
      const issuer = typeof payload.iss === "string" ? payload.iss : "";
      let principal: Principal;
      try {
        principal = principalFromClaims(payload, groupsClaims.get(issuer) ?? "groups");
      } catch (error) {
        throw new AuthenticationError("token lacks a subject", { cause: error });
      }
      if (cacheSize > 0) {
        if (verified.size >= cacheSize) {
          const oldest = verified.keys().next();
          if (oldest.done !== true) verified.delete(oldest.value);
        }
        verified.set(token, principal);
      }
      return principal;
    },
  };
}

/** Extracts the token from an `Authorization: Bearer ...` header value, or throws `AuthenticationError`. */
export function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization === "")
    throw new AuthenticationError("missing bearer token");
  const match = /^Bearer +([^\s]+) *$/i.exec(authorization);
  if (match === null || match[1] === undefined)
    throw new AuthenticationError("authorization header is not a bearer token");
  return match[1];
}
