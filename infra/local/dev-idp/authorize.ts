// The dev IdP's authorization code flow: a sign-in form to pick a user, one-time codes bound to PKCE (S256), the code grant.

import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { DevIdp } from "#infra/local/dev-idp/dev-idp.ts";
import { BadRequestError } from "#shared/errors.ts";
import { html, type SafeHtml } from "#shared/web/html-template.ts";
import { codeChallenge } from "#shared/web/oidc-client.ts";
import { htmlPage, redirect } from "#shared/web/page.ts";

/** How long an authorization code can be redeemed, ms. */
const CODE_TTL_MS = 60_000;

const base64url43 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be a base64url SHA-256 (43 characters)");

/** The authorization request's parameters (OIDC core §3.1.2.1 with PKCE). */
export const authorizeRequestSchema = z.object({
  response_type: z.literal("code"),
  client_id: z.string().min(1).max(256),
  redirect_uri: z.url(),
  scope: z.string().refine((s) => s.split(" ").includes("openid"), "scope must include openid"),
  state: z.string().min(8).max(512),
  nonce: z.string().min(8).max(512),
  code_challenge: base64url43,
  code_challenge_method: z.literal("S256"),
});

/** An authorization request. */
export type AuthorizeRequest = z.infer<typeof authorizeRequestSchema>;

/** The sign-in form's own fields. */
const signInFields = z.object({
  sub: z.string().trim().min(1).max(256),
  groups: z.string().max(1_000).default(""),
});

/** The code grant at the token endpoint (RFC 6749 §4.1.3 with RFC 7636 §4.5). */
export const codeGrantSchema = z.object({
  grant_type: z.literal("authorization_code"),
  code: z.string().min(1).max(256),
  redirect_uri: z.url(),
  client_id: z.string().min(1).max(256),
  code_verifier: z.string().regex(/^[A-Za-z0-9._~-]{43,128}$/, "must be a PKCE code verifier"),
});

interface IssuedCode {
  readonly request: AuthorizeRequest;
  readonly sub: string;
  readonly groups: string[];
  readonly expiresAt: number;
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequestError(
      "invalid_request",
      `${issue?.path.join(".") || "request"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

function hidden(name: string, value: string): SafeHtml {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}

/**
 * Authorization codes of the dev IdP, in memory: single use, valid for a minute, redeemable only with the PKCE
 * verifier of their challenge, by the client and redirect URI they were issued to. Redirect URIs must be on the
 * gateway's own origins, so the form is never an open redirect.
 */
export class DevAuthorization {
  private readonly codes = new Map<string, IssuedCode>();

  private readonly redirectOrigins: ReadonlySet<string>;

  /** `redirectOrigins`: origins the gateway's callback may live on (its listening and public URLs). */
  constructor(
    private readonly idp: DevIdp,
    redirectOrigins: readonly string[] = [],
    private readonly now: () => number = Date.now,
  ) {
    this.redirectOrigins = new Set([
      new URL(idp.issuer).origin,
      ...redirectOrigins.map((o) => new URL(o).origin),
    ]);
  }

  /** Validates an authorization request (query or form fields). */
  request(fields: Record<string, string>): AuthorizeRequest {
    const request = parse(authorizeRequestSchema, fields);
    if (!this.redirectOrigins.has(new URL(request.redirect_uri).origin)) {
      throw new BadRequestError("invalid_request", "redirect_uri must be on this gateway's origin");
    }
    return request;
  }

  /** `GET /dev-idp/authorize`: the sign-in form (choose a subject and its groups). */
  form(request: AuthorizeRequest): Response {
    const fields = Object.entries(request).map(([name, value]) => hidden(name, String(value)));
    return htmlPage(
      200,
      "Sign in — phigate dev IdP",
      html`<h1>Sign in to the development IdP</h1>
<section><p><strong>Development only:</strong> this IdP signs in anyone as anyone. Choose who you are.</p>
<form method="post" action="/dev-idp/authorize">${fields}
<label for="sub">Subject</label><input type="text" id="sub" name="sub" value="alice" autocomplete="username" required>
<label for="groups">Groups (comma-separated)</label><input type="text" id="groups" name="groups" value="phi-approvers">
<div class="actions"><button type="submit">Sign in</button></div></form>
<p class="muted">Signing in for <code>${request.client_id}</code>; you will return to ${new URL(request.redirect_uri).pathname}.</p></section>`,
    );
  }

  /** `POST /dev-idp/authorize`: issues a code for the chosen user and redirects back with it and the state. */
  signIn(fields: Record<string, string>): Response {
    const request = this.request(fields);
    const user = parse(signInFields, fields);
    const groups = user.groups
      .split(",")
      .map((g) => g.trim())
      .filter((g) => g !== "")
      .slice(0, 50);
    this.prune();
    const code = randomBytes(32).toString("base64url");
    this.codes.set(code, { request, sub: user.sub, groups, expiresAt: this.now() + CODE_TTL_MS });
    const target = new URL(request.redirect_uri);
    target.searchParams.set("code", code);
    target.searchParams.set("state", request.state);
    return redirect(target.toString(), 302);
  }

  /** The code grant: checks the code (once), client, redirect URI and PKCE verifier, then mints the tokens. */
  async redeem(fields: Record<string, string>): Promise<Record<string, unknown>> {
    const grant = parse(codeGrantSchema, fields);
    const issued = this.codes.get(grant.code);
    this.codes.delete(grant.code);
    if (
      issued === undefined ||
      issued.expiresAt <= this.now() ||
      issued.request.client_id !== grant.client_id ||
      issued.request.redirect_uri !== grant.redirect_uri ||
      codeChallenge(grant.code_verifier) !== issued.request.code_challenge
    ) {
      throw new BadRequestError(
        "invalid_grant",
        "the code is unknown, used, expired, or its verifier does not match",
      );
    }
    const access = await this.idp.mint({ sub: issued.sub, groups: issued.groups, ttlSeconds: 300 });
    const idToken = await this.idp.mintIdToken({
      sub: issued.sub,
      groups: issued.groups,
      nonce: issued.request.nonce,
      clientId: issued.request.client_id,
    });
    return { ...access, id_token: idToken, scope: "openid" };
  }

  private prune(): void {
    const now = this.now();
    for (const [code, issued] of this.codes) if (issued.expiresAt <= now) this.codes.delete(code);
  }
}
