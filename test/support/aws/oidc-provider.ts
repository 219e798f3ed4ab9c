// Two OIDC issuers on one loopback https server: a GitHub-Actions-like CI issuer (RS256 tokens, JWKS at
// /.well-known/jwks) and an approvers' provider (authorization code + PKCE, ID tokens with nonce, client_secret_basic).

import { createHash, randomBytes, randomUUID, type webcrypto } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

interface SigningKey {
  readonly alg: "RS256" | "ES256";
  readonly privateKey: webcrypto.CryptoKey;
  readonly jwk: JWK & { kid: string };
}

async function signingKey(alg: "RS256" | "ES256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { alg, privateKey, jwk: { ...jwk, kid, alg, use: "sig" } };
}

async function sign(key: SigningKey, payload: Record<string, unknown>): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.jwk.kid, typ: "JWT" })
    .sign(key.privateKey);
}

/** A pending authorization (what the provider remembers between /authorize and /token). */
interface Grant {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly nonce: string;
  readonly user: { readonly sub: string; readonly email: string; readonly groups: readonly string[] };
}

/** The provider and the tokens it mints. */
export class LoopbackOidc {
  /** Requests per path, for the run's report (the JWKS fetches are the functions' cold-start cost). */
  readonly requests = new Map<string, number>();
  private readonly grants = new Map<string, Grant>();
  /** Who signs in at /authorize next (the approver the test plays). */
  signInAs: Grant["user"] = { sub: "alice", email: "alice@example.org", groups: ["phi-approvers"] };

  private constructor(
    private readonly server: Server,
    readonly base: string,
    private readonly ci: SigningKey,
    private readonly approver: SigningKey,
    readonly clientId: string,
    readonly clientSecret: string,
  ) {}

  /** The CI issuer (`iss` of its tokens). */
  get ciIssuer(): string {
    return `${this.base}/ci`;
  }

  /** The approvers' provider issuer. */
  get approverIssuer(): string {
    return `${this.base}/approver`;
  }

  static async start(
    tls: { key: string; cert: string },
    clientId = "phigate-approvals",
  ): Promise<LoopbackOidc> {
    const [ci, approver] = await Promise.all([signingKey("RS256"), signingKey("ES256")]);
    let provider: LoopbackOidc | undefined;
    const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void (provider as LoopbackOidc)
          .route(
            req.method ?? "GET",
            req.url ?? "/",
            req.headers.authorization,
            Buffer.concat(chunks).toString("utf8"),
          )
          .then(({ status, headers, body }) => {
            res.writeHead(status, headers);
            res.end(body);
          });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    provider = new LoopbackOidc(server, base, ci, approver, clientId, randomBytes(24).toString("base64url"));
    return provider;
  }

  /** A CI job's token, as GitHub Actions mints it (RS256, five minutes, repository claims). */
  ciToken(sub: string, audience: string, claims: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return sign(this.ci, {
      iss: this.ciIssuer,
      sub,
      aud: audience,
      iat: now,
      nbf: now,
      exp: now + 300,
      jti: randomUUID(),
      repository: "acme/ehr-reports",
      repository_id: "100200300",
      repository_owner: "acme",
      repository_owner_id: "4242",
      ref: "refs/heads/main",
      ...claims,
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(
    method: string,
    rawUrl: string,
    authorization: string | undefined,
    body: string,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const url = new URL(rawUrl, this.base);
    this.requests.set(url.pathname, (this.requests.get(url.pathname) ?? 0) + 1);
    const json = (status: number, value: unknown) => ({
      status,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(value),
    });
    switch (url.pathname) {
      case "/ci/.well-known/openid-configuration":
        return json(200, { issuer: this.ciIssuer, jwks_uri: `${this.ciIssuer}/.well-known/jwks` });
      case "/ci/.well-known/jwks":
        return json(200, { keys: [this.ci.jwk] });
      case "/approver/.well-known/openid-configuration":
        return json(200, {
          issuer: this.approverIssuer,
          jwks_uri: `${this.approverIssuer}/.well-known/jwks.json`,
          authorization_endpoint: `${this.approverIssuer}/authorize`,
          token_endpoint: `${this.approverIssuer}/token`,
        });
      case "/approver/.well-known/jwks.json":
        return json(200, { keys: [this.approver.jwk] });
      case "/approver/authorize": {
        const q = url.searchParams;
        if (
          q.get("response_type") !== "code" ||
          q.get("code_challenge_method") !== "S256" ||
          q.get("client_id") !== this.clientId
        )
          return json(400, { error: "invalid_request" });
        const code = randomBytes(16).toString("base64url");
        this.grants.set(code, {
          clientId: this.clientId,
          redirectUri: q.get("redirect_uri") ?? "",
          challenge: q.get("code_challenge") ?? "",
          nonce: q.get("nonce") ?? "",
          user: this.signInAs,
        });
        const back = new URL(q.get("redirect_uri") ?? "");
        back.searchParams.set("code", code);
        back.searchParams.set("state", q.get("state") ?? "");
        return { status: 302, headers: { location: back.toString() }, body: "" };
      }
      case "/approver/token": {
        if (method !== "POST") return json(405, { error: "invalid_request" });
        const expected = `Basic ${Buffer.from(`${encodeURIComponent(this.clientId)}:${encodeURIComponent(this.clientSecret)}`).toString("base64")}`;
        if (authorization !== expected) return json(401, { error: "invalid_client" });
        const form = new URLSearchParams(body);
        const grant = this.grants.get(form.get("code") ?? "");
        this.grants.delete(form.get("code") ?? "");
        const verifier = form.get("code_verifier") ?? "";
        if (
          grant === undefined ||
          form.get("grant_type") !== "authorization_code" ||
          form.get("redirect_uri") !== grant.redirectUri ||
          createHash("sha256").update(verifier).digest("base64url") !== grant.challenge
        )
          return json(400, { error: "invalid_grant" });
        const now = Math.floor(Date.now() / 1000);
        const idToken = await sign(this.approver, {
          iss: this.approverIssuer,
          sub: grant.user.sub,
          aud: grant.clientId,
          iat: now,
          exp: now + 300,
          nonce: grant.nonce,
          email: grant.user.email,
          groups: grant.user.groups,
        });
        return json(200, {
          id_token: idToken,
          token_type: "Bearer",
          expires_in: 300,
          access_token: randomBytes(16).toString("hex"),
        });
      }
      default:
        return json(404, { error: "not_found" });
    }
  }
}
