// The edge authorizer: a token is verified (signature, issuer, audience, expiry) before its claims are read, and only
// the allowed claims pass; keys are generated here, never stored.

import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  claimsAllowed,
  createEdgeAuthorizer,
  edgeAuthorizerConfigFromEnv,
  tokenOf,
} from "#infra/aws/edge-authorizer.ts";

const ISSUER = "https://token.actions.example.test";
const CONFIG = {
  issuer: ISSUER,
  jwksUri: `${ISSUER}/.well-known/jwks`,
  audience: "phigate",
  allowedClaims: { repository_owner_id: ["4242", "77"] },
};
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
let key: PrivateKey;
let other: PrivateKey;
let authorize: ReturnType<typeof createEdgeAuthorizer>;

async function token(claims: Record<string, unknown>, signWith = key, kid = "k1"): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ repository_owner_id: "4242", ...claims })
    .setProtectedHeader({ alg: "RS256", kid })
    .setIssuer(ISSUER)
    .setAudience("phigate")
    .setSubject("repo:acme/x:ref:refs/heads/main")
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(signWith);
}

const event = (value: string) => ({
  identitySource: [`Bearer ${value}`],
  headers: { authorization: `Bearer ${value}` },
});

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  key = pair.privateKey;
  other = (await generateKeyPair("RS256")).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  authorize = createEdgeAuthorizer(CONFIG, { jwks: { keys: [jwk as never] } });
});

describe("the edge authorizer", () => {
  it("allows a verified token whose owner is listed", async () => {
    expect(await authorize(event(await token({})))).toEqual({ isAuthorized: true });
    expect(await authorize(event(await token({ repository_owner_id: "77" })))).toEqual({
      isAuthorized: true,
    });
  });

  it("refuses another owner, a missing claim, and a numeric claim outside the list", async () => {
    expect(await authorize(event(await token({ repository_owner_id: "9999" })))).toEqual({
      isAuthorized: false,
    });
    expect(await authorize(event(await token({ repository_owner_id: undefined })))).toEqual({
      isAuthorized: false,
    });
    expect(await authorize(event(await token({ repository_owner_id: 9999 })))).toEqual({
      isAuthorized: false,
    });
  });

  it("never trusts a claim of a token that does not verify", async () => {
    // Signed by a key the issuer does not publish (same kid).
    expect(await authorize(event(await token({}, other)))).toEqual({ isAuthorized: false });
    // Another issuer, another audience, expired.
    const now = Math.floor(Date.now() / 1000);
    const foreign = await new SignJWT({ repository_owner_id: "4242" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer("https://evil.example.test")
      .setAudience("phigate")
      .setExpirationTime(now + 300)
      .sign(key);
    const wrongAudience = await new SignJWT({ repository_owner_id: "4242" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience("someone-else")
      .setExpirationTime(now + 300)
      .sign(key);
    const expired = await new SignJWT({ repository_owner_id: "4242" })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience("phigate")
      .setIssuedAt(now - 900)
      .setExpirationTime(now - 600)
      .sign(key);
    for (const t of [foreign, wrongAudience, expired])
      expect(await authorize(event(t))).toEqual({ isAuthorized: false });
    // The payload of a valid token swapped for one naming an allowed owner: the signature no longer matches.
    const [head, , signature] = (await token({ repository_owner_id: "9999" })).split(".");
    const swapped = `${head}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: "phigate", exp: now + 300, repository_owner_id: "4242" })).toString("base64url")}.${signature}`;
    expect(await authorize(event(swapped))).toEqual({ isAuthorized: false });
    expect(await authorize(event("not-a-token"))).toEqual({ isAuthorized: false });
    expect(await authorize({ identitySource: [] })).toEqual({ isAuthorized: false });
  });

  it("reads the token from the identity source in the one Bearer form only, and bounds its size", () => {
    expect(tokenOf({ identitySource: ["Bearer abc"] })).toBe("abc");
    for (const variant of [
      "abc",
      "bearer abc",
      "Bearer  abc",
      "Bearer abc ",
      "Bearer Bearer abc",
      "Bearer a,Bearer b",
    ])
      expect(tokenOf({ identitySource: [variant] }), variant).toBeUndefined();
    expect(tokenOf({ identitySource: [`Bearer ${"a".repeat(9000)}`] })).toBeUndefined();
  });

  it("requires every listed claim", () => {
    const allowed = { repository_owner_id: ["1"], repository_id: ["2"] };
    expect(claimsAllowed({ repository_owner_id: "1", repository_id: "2" }, allowed)).toBe(true);
    // Strings only: a number's text need not be the number the issuer signed.
    expect(claimsAllowed({ repository_owner_id: "1", repository_id: 2 }, allowed)).toBe(false);
    expect(claimsAllowed({ repository_owner_id: "1" }, allowed)).toBe(false);
  });

  it("refuses to start without a valid configuration", () => {
    expect(() => edgeAuthorizerConfigFromEnv({})).toThrow(/PHIGATE_EDGE_AUTHORIZER/);
    expect(() =>
      edgeAuthorizerConfigFromEnv({
        PHIGATE_EDGE_AUTHORIZER: JSON.stringify({ ...CONFIG, allowedClaims: {} }),
      }),
    ).toThrow();
    expect(edgeAuthorizerConfigFromEnv({ PHIGATE_EDGE_AUTHORIZER: JSON.stringify(CONFIG) })).toEqual(CONFIG);
  });
});
