// The dev IdP's authorization code grant: one-time codes, bound to client, redirect URI and the PKCE verifier.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DevAuthorization } from "#infra/local/dev-idp/authorize.ts";
import { DevIdp } from "#infra/local/dev-idp/dev-idp.ts";
import { codeChallenge } from "#shared/web/oidc-client.ts";

const ISSUER = "http://127.0.0.1:9999/dev-idp";
const REDIRECT = "http://127.0.0.1:9999/approvals/oidc/callback";
const VERIFIER = `${"v".repeat(30)}erifier-0123456789`;

describe("DevAuthorization", () => {
  let dir: string;
  let auth: DevAuthorization;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-devidp-"));
    auth = new DevAuthorization(await DevIdp.open({ keysDir: dir, issuer: ISSUER, audience: "phigate" }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const request = {
    response_type: "code",
    client_id: "phigate",
    redirect_uri: REDIRECT,
    scope: "openid",
    state: "state-0123456789",
    nonce: "nonce-0123456789",
    code_challenge: codeChallenge(VERIFIER),
    code_challenge_method: "S256",
  };

  function codeFor(sub = "alice", groups = "phi-approvers"): string {
    const answer = auth.signIn({ ...request, sub, groups });
    const location = new URL(String(answer.headers.get("location")));
    expect(location.origin + location.pathname).toBe(REDIRECT);
    expect(location.searchParams.get("state")).toBe(request.state);
    return location.searchParams.get("code") ?? "";
  }

  const grant = (code: string, extra: Record<string, string> = {}) => ({
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT,
    client_id: "phigate",
    code_verifier: VERIFIER,
    ...extra,
  });

  it("shows a sign-in form without script, and refuses plain challenges and foreign redirect URIs", async () => {
    const form = auth.form(auth.request(request));
    expect(form.status).toBe(200);
    const page = await form.text();
    expect(page).toContain('name="sub"');
    expect(page).not.toContain("<script");
    expect(() => auth.request({ ...request, code_challenge_method: "plain" })).toThrow(
      /code_challenge_method/,
    );
    expect(() => auth.request({ ...request, redirect_uri: "https://evil.example/cb" })).toThrow(/origin/);
    expect(() => auth.request({ ...request, scope: "profile" })).toThrow(/openid/);
  });

  it("redeems a code once, with the right verifier, for an ID token carrying the nonce and the groups", async () => {
    const tokens = await auth.redeem(grant(codeFor()));
    const id = decodeJwt(String(tokens.id_token));
    expect(id).toMatchObject({
      iss: ISSUER,
      sub: "alice",
      aud: "phigate",
      nonce: request.nonce,
      groups: ["phi-approvers"],
    });
    expect(tokens).toMatchObject({ token_type: "Bearer", access_token: expect.any(String) });
  });

  it("refuses a wrong verifier, a reused code, another client or another redirect URI", async () => {
    await expect(auth.redeem(grant(codeFor(), { code_verifier: "w".repeat(43) }))).rejects.toMatchObject({
      code: "invalid_grant",
    });
    const code = codeFor();
    await auth.redeem(grant(code));
    await expect(auth.redeem(grant(code))).rejects.toMatchObject({ code: "invalid_grant" });
    await expect(auth.redeem(grant(codeFor(), { client_id: "other" }))).rejects.toMatchObject({
      code: "invalid_grant",
    });
    await expect(
      auth.redeem(grant(codeFor(), { redirect_uri: "http://127.0.0.1:9999/elsewhere" })),
    ).rejects.toMatchObject({ code: "invalid_grant" });
  });
});
