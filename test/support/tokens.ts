// Test tokens: keys generated at run time, tokens signed (or forged) inside the test — never a key in the repo.

import { randomUUID, type webcrypto } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import type { InProcessIssuer } from "#shared/identity/token-verifier.ts";

/** A test issuer with its own freshly generated ES256 key. */
export interface TestIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly config: InProcessIssuer;
  readonly privateKey: webcrypto.CryptoKey;
  readonly publicJwk: JWK & { kid: string; kty: string };
  sign(
    payload: Record<string, unknown>,
    options?: { header?: Record<string, unknown>; key?: webcrypto.CryptoKey },
  ): Promise<string>;
  /** A valid token for `sub` with sensible claims (overridable). */
  token(sub: string, claims?: Record<string, unknown>): Promise<string>;
}

/** Creates an issuer with a new key pair. */
export async function createTestIssuer(
  issuer = "https://issuer.test/",
  audience = "phigate",
): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const publicJwk = { ...jwk, kty: jwk.kty ?? "EC", kid, alg: "ES256", use: "sig" };
  const sign = async (
    payload: Record<string, unknown>,
    options: { header?: Record<string, unknown>; key?: webcrypto.CryptoKey } = {},
  ) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: "ES256", kid, typ: "JWT", ...options.header })
      .sign(options.key ?? privateKey);
  return {
    issuer,
    audience,
    privateKey,
    publicJwk,
    config: {
      issuer,
      audience: [audience],
      jwksUri: `${issuer}.well-known/jwks.json`,
      groupsClaim: "groups",
      jwks: { keys: [publicJwk] },
    },
    sign,
    token: (sub, claims = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return sign({
        iss: issuer,
        sub,
        aud: audience,
        iat: now,
        exp: now + 300,
        jti: randomUUID(),
        ...claims,
      });
    },
  };
}
