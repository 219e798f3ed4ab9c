// The HTTP API's Lambda REQUEST authorizer: verifies the bearer token and requires the allowed claims at the edge.
// Pinned to the API Gateway developer guide, "Control access to HTTP APIs with AWS Lambda authorizers"
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html): payload format 2.0
// (`version` "2.0", `type` "REQUEST", `routeArn`, `identitySource` as an array of the identity sources' values,
// `headers` lower-cased); with simple responses enabled the function answers `{isAuthorized, context?}` and API Gateway
// answers `403 {"message":"Forbidden"}` when `isAuthorized` is false; a request without the identity source gets `401`
// without invoking the function; results are cached by the identity source for `AuthorizerResultTtlInSeconds` (0 off,
// at most 3600: AWS::ApiGatewayV2::Authorizer in the CloudFormation reference).

import { JwtVerifier } from "aws-jwt-verify";
import type { Jwks } from "aws-jwt-verify/jwk";
import type { JwtPayload } from "aws-jwt-verify/jwt-model";
import * as z from "zod";
import { ConfigurationError } from "#shared/errors.ts";
import { MAX_TOKEN_LENGTH } from "#shared/identity/token-verifier.ts";
import { parseJsonSetting } from "#shared/json-setting.ts";

/** Claims a token must carry at the edge: each named claim with one of its listed values (all claims must match). */
export const allowedClaimsSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_:.-]{1,64}$/), z.array(z.string().min(1).max(256)).min(1).max(100))
  .refine((claims) => Object.keys(claims).length >= 1 && Object.keys(claims).length <= 10, {
    message: "name 1 to 10 claims",
  });

/** What the authorizer is configured with (`PHIGATE_EDGE_AUTHORIZER`, JSON). */
export const edgeAuthorizerConfigSchema = z.strictObject({
  issuer: z.url({ protocol: /^https$/ }),
  jwksUri: z.url({ protocol: /^https$/ }),
  audience: z.string().min(1),
  allowedClaims: allowedClaimsSchema,
});

/** The authorizer's configuration. */
export type EdgeAuthorizerConfig = z.infer<typeof edgeAuthorizerConfigSchema>;

/** The part of the payload-2.0 REQUEST event the authorizer reads. */
export interface AuthorizerEvent {
  readonly identitySource?: readonly string[] | null;
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
}

/** The simple response. */
export interface AuthorizerResponse {
  readonly isAuthorized: boolean;
}

/** Clock skew tolerated on `exp`/`nbf`, seconds (as the functions' verifier). */
const GRACE_SECONDS = 30;

/** The token of an event: the identity source's value (the Authorization header), with or without `Bearer `. */
export function tokenOf(event: AuthorizerEvent): string | undefined {
  const raw = event.identitySource?.[0] ?? event.headers?.authorization;
  if (raw === undefined) return undefined;
  // One form only (RFC 6750 §2.1): each spelling of one token would be its own edge-cache key.
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(raw);
  const token = match?.[1];
  return token === undefined || token.length > MAX_TOKEN_LENGTH ? undefined : token;
}

/**
 * Whether a verified payload carries every allowed claim as a string with an allowed value (GitHub sends its ids as
 * strings; a number is refused, as its text may not be the number the issuer meant past 2^53).
 */
export function claimsAllowed(
  payload: Readonly<Record<string, unknown>>,
  allowed: EdgeAuthorizerConfig["allowedClaims"],
): boolean {
  return Object.entries(allowed).every(([name, values]) => {
    const value = payload[name];
    return typeof value === "string" && values.includes(value);
  });
}

/**
 * The authorizer: signature (the issuer's JWKS, asymmetric algorithms only), issuer, audience, expiry and not-before,
 * then the allowed claims — a claim is read only from a verified token. Anything else, an error included, is a refusal
 * (`isAuthorized: false`, 403 at the edge). `jwks` preloads the issuer's keys (tests; nothing is fetched then).
 */
export function createEdgeAuthorizer(
  config: EdgeAuthorizerConfig,
  options: { readonly jwks?: Jwks } = {},
): (event: AuthorizerEvent) => Promise<AuthorizerResponse> {
  const verifier = JwtVerifier.create({
    issuer: config.issuer,
    audience: config.audience,
    jwksUri: config.jwksUri,
    graceSeconds: GRACE_SECONDS,
    customJwtCheck: ({ header, payload }: { header: Record<string, unknown>; payload: JwtPayload }) => {
      for (const name of ["jku", "jwk", "x5u", "x5c", "crit"]) {
        if (name in header) throw new Error("key-carrying header");
      }
      if (typeof payload.exp !== "number") throw new Error("no expiry");
    },
  });
  if (options.jwks !== undefined) verifier.cacheJwks(options.jwks);
  return async (event) => {
    const token = tokenOf(event);
    if (token === undefined) return { isAuthorized: false };
    try {
      const payload = (await verifier.verify(token)) as Record<string, unknown>;
      return { isAuthorized: claimsAllowed(payload, config.allowedClaims) };
    } catch {
      return { isAuthorized: false };
    }
  };
}

/** The configuration from the function's environment; a missing or invalid one refuses to start. */
export function edgeAuthorizerConfigFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): EdgeAuthorizerConfig {
  const config = parseJsonSetting(
    "PHIGATE_EDGE_AUTHORIZER",
    env.PHIGATE_EDGE_AUTHORIZER,
    edgeAuthorizerConfigSchema,
  );
  if (config === undefined) throw new ConfigurationError("PHIGATE_EDGE_AUTHORIZER: required");
  return config;
}
