// The development IdP (local development mode only): OIDC discovery, JWKS, and token minting for any subject.

import { randomUUID, type webcrypto } from "node:crypto";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { z } from "zod";
import { loadOrCreateSecret } from "#infra/local/adapters/file-key-provider.ts";
import { BadRequestError } from "#shared/errors.ts";

/** Longest lifetime of a dev token, seconds. */
export const MAX_DEV_TOKEN_TTL = 12 * 3600;

const RESERVED = new Set(["iss", "sub", "aud", "exp", "iat", "nbf", "jti"]);

/** `POST /dev-idp/token` body (contract §3). */
export const devTokenRequestSchema = z.strictObject({
  sub: z.string().min(1).max(256),
  groups: z.array(z.string().min(1).max(128)).max(50).optional(),
  claims: z.record(z.string().max(64), z.union([z.string().max(512), z.number(), z.boolean()])).optional(),
  ttlSeconds: z.number().int().positive().max(MAX_DEV_TOKEN_TTL).optional(),
});

/** A dev token request. */
export type DevTokenRequest = z.infer<typeof devTokenRequestSchema>;

/** The dev IdP: a signing key kept under DATA_DIR and the issuer URL it signs as. */
export class DevIdp {
  private constructor(
    readonly issuer: string,
    readonly audience: string,
    private readonly privateKey: webcrypto.CryptoKey,
    readonly publicJwk: JWK & { kid: string; kty: string },
  ) {}

  /** Loads the signing key from `keysDir` (generating it on first start). */
  static async open(options: { keysDir: string; issuer: string; audience: string }): Promise<DevIdp> {
    const path = join(options.keysDir, "dev-idp-signing.jwk.json");
    const stored = await loadOrCreateSecret(path, async () => {
      const { privateKey } = await generateKeyPair("ES256", { extractable: true });
      return Buffer.from(JSON.stringify(await exportJWK(privateKey)), "utf8");
    });
    const jwk = JSON.parse(Buffer.from(stored).toString("utf8")) as JWK;
    const kid = await calculateJwkThumbprint(jwk);
    const privateKey = (await importJWK({ ...jwk, alg: "ES256" }, "ES256")) as webcrypto.CryptoKey;
    const { d: _d, ...publicPart } = jwk;
    return new DevIdp(options.issuer, options.audience, privateKey, {
      ...publicPart,
      kty: jwk.kty ?? "EC",
      kid,
      alg: "ES256",
      use: "sig",
    });
  }

  /** The JWKS document. */
  jwks(): { keys: (JWK & { kid: string; kty: string })[] } {
    return { keys: [this.publicJwk] };
  }

  /** The OIDC discovery document. */
  discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: `${this.issuer}/.well-known/jwks.json`,
      token_endpoint: `${this.issuer}/token`,
      authorization_endpoint: `${this.issuer}/authorize`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256"],
      code_challenge_methods_supported: ["S256"],
      scopes_supported: ["openid"],
    };
  }

  /** An OIDC ID token for a signed-in user: audience the client, the request's nonce, five minutes. */
  async mintIdToken(request: {
    sub: string;
    groups: readonly string[];
    nonce: string;
    clientId: string;
  }): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      nonce: request.nonce,
      auth_time: now,
      groups: [...request.groups],
      preferred_username: request.sub,
    })
      .setProtectedHeader({ alg: "ES256", kid: this.publicJwk.kid, typ: "JWT" })
      .setIssuer(this.issuer)
      .setSubject(request.sub)
      .setAudience(request.clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(randomUUID())
      .sign(this.privateKey);
  }

  /** Mints a signed token for any subject (that is what a development IdP is for). */
  async mint(
    request: DevTokenRequest,
    audience: string = this.audience,
  ): Promise<{ access_token: string; token_type: "Bearer"; expires_in: number }> {
    const ttl = request.ttlSeconds ?? 3600;
    const extra: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(request.claims ?? {})) {
      if (RESERVED.has(name)) throw new BadRequestError("invalid_request", `claims.${name} is reserved`);
      extra[name] = value;
    }
    if (request.groups !== undefined) extra.groups = request.groups;
    const token = await new SignJWT(extra)
      .setProtectedHeader({ alg: "ES256", kid: this.publicJwk.kid, typ: "JWT" })
      .setIssuer(this.issuer)
      .setSubject(request.sub)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { access_token: token, token_type: "Bearer", expires_in: ttl };
  }
}
