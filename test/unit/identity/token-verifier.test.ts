// Token verification: valid tokens become principals; every malformed, forged or misdirected token is refused.

import { generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError } from "#shared/errors.ts";
import { bearerToken, createTokenVerifier, type TokenVerifier } from "#shared/identity/token-verifier.ts";
import { createTestIssuer, type TestIssuer } from "#test/support/tokens.ts";

function b64url(value: unknown): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
}

describe("token verifier", () => {
  let idp: TestIssuer;
  let other: TestIssuer;
  let verifier: TokenVerifier;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    idp = await createTestIssuer("https://idp.test/");
    other = await createTestIssuer("https://corp.test/", "phigate");
    verifier = createTokenVerifier([idp.config, other.config]);
  });

  it("turns a valid token into a principal with GitHub claims and groups", async () => {
    const token = await idp.token("repo:acme/ehr-reports:ref:refs/heads/main", {
      repository: "acme/ehr-reports",
      repository_id: "42",
      workflow_ref: "acme/ehr-reports/.github/workflows/nightly.yml@refs/heads/main",
      run_id: 12345,
      groups: ["a", 7, "b"],
      unknown_claim: "dropped",
    });
    const principal = await verifier.verify(token);
    expect(principal.issuer).toBe("https://idp.test/");
    expect(principal.subject).toBe("repo:acme/ehr-reports:ref:refs/heads/main");
    expect(principal.key).toBe("https://idp.test/#repo:acme/ehr-reports:ref:refs/heads/main");
    expect(principal.claims).toMatchObject({
      repository: "acme/ehr-reports",
      repository_id: "42",
      run_id: "12345",
    });
    expect(principal.groups).toEqual(["a", "b"]);
    expect(principal.claims).not.toHaveProperty("unknown_claim");
  });

  it("remembers a verified token by its exact bytes, and never a tampered copy", async () => {
    const token = await idp.token("cached-subject");
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).toBe(first);
    const [h, p, s] = token.split(".");
    const flipped = `${h}.${p}.${(s ?? "").slice(0, -2)}${(s ?? "").endsWith("AA") ? "AB" : "AA"}`;
    await expect(verifier.verify(flipped)).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("accepts several issuers at once", async () => {
    expect((await verifier.verify(await other.token("alice"))).issuer).toBe("https://corp.test/");
  });

  const rejects = async (token: string, reason: RegExp) => {
    const error = await verifier.verify(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).message).toMatch(reason);
  };

  it("refuses an empty or oversized token", async () => {
    await rejects("", /missing/);
    await rejects("a".repeat(9000), /too large/);
  });

  it("refuses garbage", async () => rejects("not.a.jwt", /malformed|could not/));

  it("refuses alg none", async () => {
    const token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ iss: idp.issuer, sub: "x", aud: "phigate", exp: now() + 60 })}.`;
    await rejects(token, /./);
  });

  it("refuses HS256 signed with the public key as secret", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(idp.publicJwk));
    const token = await new SignJWT({ iss: idp.issuer, sub: "x", aud: "phigate", exp: now() + 60 })
      .setProtectedHeader({ alg: "HS256", kid: idp.publicJwk.kid })
      .sign(secret);
    await rejects(token, /./);
  });

  it("refuses a token signed by an unpublished key with the same kid", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    await rejects(
      await idp.sign(
        { iss: idp.issuer, sub: "x", aud: "phigate", iat: now(), exp: now() + 60 },
        { key: privateKey },
      ),
      /signature/,
    );
  });

  it("refuses a tampered payload", async () => {
    const [h, , s] = (await idp.token("bob")).split(".");
    await rejects(
      `${h}.${b64url({ iss: idp.issuer, sub: "admin", aud: "phigate", exp: now() + 60 })}.${s}`,
      /signature/,
    );
  });

  it("refuses expired, not-yet-valid, future-issued and too-long-lived tokens", async () => {
    await rejects(await idp.token("x", { exp: now() - 120, iat: now() - 400 }), /expired/);
    await rejects(await idp.token("x", { nbf: now() + 600 }), /not yet valid/);
    await rejects(await idp.token("x", { iat: now() + 600, exp: now() + 900 }), /future/);
    await rejects(await idp.token("x", { exp: now() + 3 * 24 * 3600 }), /lifetime/);
    await rejects(await idp.token("x", { exp: undefined }), /expiry|could not/);
  });

  it("refuses a wrong issuer or audience", async () => {
    await rejects(await idp.token("x", { iss: "https://evil.test/" }), /issuer/);
    await rejects(await idp.token("x", { aud: "someone-else" }), /audience/);
  });

  it("refuses key-carrying headers even when the signature is valid", async () => {
    for (const header of [
      { jku: "https://evil.test/jwks" },
      { jwk: idp.publicJwk },
      { x5u: "https://evil.test/cert" },
    ]) {
      await rejects(
        await idp.sign(
          { iss: idp.issuer, sub: "x", aud: "phigate", iat: now(), exp: now() + 60 },
          { header },
        ),
        /header/,
      );
    }
  });

  it("with no issuer configured, refuses everything", async () => {
    await expect(createTokenVerifier([]).verify(await idp.token("x"))).rejects.toBeInstanceOf(
      AuthenticationError,
    );
  });

  it("extracts only well-formed bearer headers", () => {
    expect(bearerToken("Bearer abc.def.ghi")).toBe("abc.def.ghi");
    expect(() => bearerToken(undefined)).toThrow(AuthenticationError);
    expect(() => bearerToken("Basic dXNlcjpwYXNz")).toThrow(AuthenticationError);
    expect(() => bearerToken("Bearer a b")).toThrow(AuthenticationError);
  });
});
