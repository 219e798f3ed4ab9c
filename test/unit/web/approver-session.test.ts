// The approver's browser session: sealed cookies (tampering, expiry, purpose), CSRF binding, and PKCE S256.

import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { principalFromClaims } from "#shared/identity/principal.ts";
import type { KeyProvider } from "#shared/ports.ts";
import {
  csrfToken,
  LOGIN_COOKIE,
  readLogin,
  readSession,
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
  startLogin,
  startSession,
  verifyCsrf,
} from "#shared/web/approver-session.ts";
import { authorizationUrl, codeChallenge } from "#shared/web/oidc-client.ts";
import { seal, unseal } from "#shared/web/seal.ts";

function keyProvider(): KeyProvider {
  const key = randomBytes(32);
  return { key: async () => key };
}

function withCookies(...cookies: string[]): Request {
  return new Request("http://local/approvals/x", {
    headers: { cookie: cookies.map((c) => c.split(";")[0] ?? "").join("; ") },
  });
}

const alice = principalFromClaims(
  { iss: "https://idp.test", sub: "alice", groups: ["phi-approvers"], exp: 1 },
  "groups",
);
const NOW = new Date("2026-11-29T12:00:00Z");

describe("approver session cookie", () => {
  it("is HttpOnly, SameSite=Strict, scoped to /approvals and short-lived; it reads back only unaltered and unexpired", async () => {
    const keys = keyProvider();
    const { cookie, session } = await startSession(keys, alice, NOW, false);
    expect(cookie).toMatch(
      new RegExp(
        `^${SESSION_COOKIE}=[A-Za-z0-9_-]+; Path=/approvals; Max-Age=${SESSION_TTL_SECONDS}; HttpOnly; SameSite=Strict$`,
      ),
    );
    expect((await startSession(keys, alice, NOW, true)).cookie).toMatch(/; Secure$/);
    expect(await readSession(keys, withCookies(cookie), NOW)).toEqual(session);
    expect(
      await readSession(keys, withCookies(cookie), new Date(NOW.getTime() + SESSION_TTL_SECONDS * 1000)),
    ).toBeUndefined();
    const value = cookie.split(";")[0]?.split("=")[1] ?? "";
    const flipped = `${value.slice(0, 20)}${value[20] === "A" ? "B" : "A"}${value.slice(21)}`;
    expect(await readSession(keys, withCookies(`${SESSION_COOKIE}=${flipped}`), NOW)).toBeUndefined();
    expect(await readSession(keyProvider(), withCookies(cookie), NOW)).toBeUndefined();
    expect(JSON.stringify(cookie)).not.toContain("alice");
  });

  it("cannot be swapped with the sign-in cookie (the purpose is authenticated)", async () => {
    const keys = keyProvider();
    const { cookie } = await startLogin(keys, "apr_0000000000000000000000000A", NOW, false);
    expect(cookie).toMatch(/SameSite=Lax/);
    const value = cookie.split(";")[0]?.split("=")[1] ?? "";
    expect(await readLogin(keys, withCookies(cookie), NOW)).toMatchObject({
      approvalId: "apr_0000000000000000000000000A",
    });
    expect(await readSession(keys, withCookies(`${SESSION_COOKIE}=${value}`), NOW)).toBeUndefined();
    expect(
      unseal(Buffer.alloc(32), LOGIN_COOKIE, seal(Buffer.alloc(32), SESSION_COOKIE, { a: 1 })),
    ).toBeUndefined();
  });
});

describe("CSRF tokens", () => {
  it("are bound to the session and the approval", async () => {
    const keys = keyProvider();
    const { session } = await startSession(keys, alice, NOW, false);
    const { session: other } = await startSession(keys, alice, NOW, false);
    const token = await csrfToken(keys, session, "apr_A");
    expect(await verifyCsrf(keys, session, "apr_A", token)).toBe(true);
    expect(await verifyCsrf(keys, session, "apr_B", token)).toBe(false);
    expect(await verifyCsrf(keys, other, "apr_A", token)).toBe(false);
    expect(await verifyCsrf(keys, session, "apr_A", "")).toBe(false);
    expect(await verifyCsrf(keys, session, "apr_A", `${token.slice(0, -2)}AA`)).toBe(token.endsWith("AA"));
  });
});

describe("PKCE", () => {
  it("derives the S256 challenge of RFC 7636 appendix B", () => {
    expect(codeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
  });

  it("builds the authorization request with code, openid, S256, state and nonce — never the verifier", () => {
    const url = new URL(
      authorizationUrl(
        {
          issuer: "https://idp.test",
          authorizationEndpoint: "https://idp.test/authorize",
          tokenEndpoint: "https://idp.test/token",
          clientId: "phigate",
          redirectUri: "https://gw.test/approvals/oidc/callback",
        },
        { state: "s".repeat(43), nonce: "n".repeat(43), verifier: "v".repeat(43) },
      ),
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: "code",
      client_id: "phigate",
      redirect_uri: "https://gw.test/approvals/oidc/callback",
      scope: "openid",
      state: "s".repeat(43),
      nonce: "n".repeat(43),
      code_challenge: codeChallenge("v".repeat(43)),
      code_challenge_method: "S256",
    });
    expect(url.toString()).not.toContain("v".repeat(43));
  });
});
