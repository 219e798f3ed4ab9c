// OpenID Connect authorization code flow with PKCE (S256), state and nonce: the approver page's sign-in.

import { createHash } from "node:crypto";
import * as z from "zod";
import { AuthenticationError, UnavailableError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import type { TokenVerifier } from "#shared/identity/token-verifier.ts";
import { sameSecret } from "./approver-session.ts";

/** Where approvers sign in: an OIDC provider whose ID tokens the gateway's `TokenVerifier` trusts for `clientId`. */
export const approverSignInSchema = z.strictObject({
  issuer: z.url(),
  authorizationEndpoint: z.url(),
  tokenEndpoint: z.url(),
  /** The gateway's client id at the provider; ID tokens carry it as `aud` (it must be among the issuer's audiences). */
  clientId: z.string().min(1),
  /** `<publicUrl>/approvals/oidc/callback`. */
  redirectUri: z.url(),
  /** A confidential client's secret (sent with HTTP Basic to the token endpoint); public clients rely on PKCE alone. */
  clientSecret: z.string().min(1).optional(),
});

/** Approver sign-in configuration. */
export type ApproverSignIn = z.infer<typeof approverSignInSchema>;

/** The callback path the provider redirects to. */
export const CALLBACK_PATH = "/approvals/oidc/callback";

/** The S256 code challenge of a PKCE code verifier (RFC 7636 §4.2). */
export function codeChallenge(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

/** The authorization request URL (response_type=code, scope openid, S256 challenge, state, nonce). */
export function authorizationUrl(
  config: ApproverSignIn,
  request: { readonly state: string; readonly nonce: string; readonly verifier: string },
): string {
  const url = new URL(config.authorizationEndpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", config.clientId);
  url.searchParams.set("redirect_uri", config.redirectUri);
  url.searchParams.set("scope", "openid");
  url.searchParams.set("state", request.state);
  url.searchParams.set("nonce", request.nonce);
  url.searchParams.set("code_challenge", codeChallenge(request.verifier));
  url.searchParams.set("code_challenge_method", "S256");
  return url.toString();
}

/** `client_secret_basic` (RFC 6749 §2.3.1): form-encoded id and secret, joined by a colon, in base64. */
export function clientSecretBasic(config: Pick<ApproverSignIn, "clientId" | "clientSecret">): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
  const pair = `${encode(config.clientId)}:${encode(config.clientSecret ?? "")}`;
  return `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
}

const tokenResponseSchema = z.looseObject({ id_token: z.string().min(1).max(8192) });

/** Redeems an authorization code (with its PKCE verifier) at the token endpoint for an ID token. */
export async function exchangeCode(
  config: ApproverSignIn,
  code: string,
  verifier: string,
  timeoutMs = 5_000,
): Promise<string> {
  let response: Response;
  try {
    response = await fetch(config.tokenEndpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        ...(config.clientSecret === undefined ? {} : { authorization: clientSecretBasic(config) }),
      },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: config.redirectUri,
        client_id: config.clientId,
        code_verifier: verifier,
      }).toString(),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "error",
    });
  } catch (cause) {
    throw new UnavailableError("signin_unavailable", "the sign-in provider is unreachable", { cause });
  }
  const body: unknown = await response.json().catch(() => undefined);
  const parsed = tokenResponseSchema.safeParse(body);
  if (!response.ok || !parsed.success) throw new AuthenticationError("the sign-in provider refused the code");
  return parsed.data.id_token;
}

function payloadOf(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1] ?? "";
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

/**
 * Verifies an ID token with the gateway's `TokenVerifier` (signature, issuer, audience, lifetime), then checks
 * it is the answer to this sign-in: issued by the configured provider, for this client, carrying this nonce.
 */
export async function verifyIdToken(
  verifier: TokenVerifier,
  config: ApproverSignIn,
  idToken: string,
  nonce: string,
): Promise<Principal> {
  const principal = await verifier.verify(idToken);
  const payload = payloadOf(idToken);
  const audience =
    typeof payload.aud === "string" ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
  if (principal.issuer !== config.issuer || !audience.includes(config.clientId)) {
    throw new AuthenticationError("the ID token is not from the configured sign-in provider");
  }
  if (typeof payload.nonce !== "string" || !sameSecret(payload.nonce, nonce)) {
    throw new AuthenticationError("the ID token does not answer this sign-in (nonce mismatch)");
  }
  return principal;
}
