// The approver's browser session: a short-lived sealed cookie after OIDC sign-in, the sign-in transaction, and CSRF tokens.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import { type Principal, principalSchema } from "#shared/identity/principal.ts";
import type { KeyProvider } from "#shared/ports.ts";
import { type CookieOptions, requestCookies, setCookie } from "./cookies.ts";
import { seal, subkey, unseal } from "./seal.ts";

/** The session cookie (approver pages only). */
export const SESSION_COOKIE = "phigate_approver";
/** The sign-in transaction cookie (state, nonce, PKCE verifier) between the redirect and the callback. */
export const LOGIN_COOKIE = "phigate_login";
/** Every approver cookie is scoped to the approver pages. */
export const COOKIE_PATH = "/approvals";
/** How long a signed-in approver session lasts, seconds. */
export const SESSION_TTL_SECONDS = 15 * 60;
/** How long a sign-in may take, seconds. */
export const LOGIN_TTL_SECONDS = 10 * 60;

const sessionSchema = z.strictObject({
  v: z.literal(1),
  /** Random session id: what CSRF tokens are bound to. */
  sid: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  principal: principalSchema,
  /** Expiry, seconds since the epoch. */
  exp: z.number().int(),
});

/** A signed-in approver. */
export type ApproverSession = z.infer<typeof sessionSchema>;

const loginSchema = z.strictObject({
  v: z.literal(1),
  state: z.string().min(32).max(128),
  nonce: z.string().min(32).max(128),
  verifier: z.string().min(43).max(128),
  /** The approval page to return to. */
  approvalId: z.string().max(64),
  exp: z.number().int(),
});

/** An OIDC sign-in in progress. */
export type LoginTransaction = z.infer<typeof loginSchema>;

/** A random URL-safe value of 256 bits (session ids, state, nonce, PKCE verifiers). */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

async function keysOf(keys: KeyProvider): Promise<{ cookie: Buffer; csrf: Buffer }> {
  const key = await keys.key("approver-session");
  return { cookie: subkey(key, "approver-cookie"), csrf: subkey(key, "approver-csrf") };
}

function cookieOptions(secure: boolean, sameSite: "Strict" | "Lax", maxAgeSeconds: number): CookieOptions {
  return { path: COOKIE_PATH, maxAgeSeconds, sameSite, secure };
}

/**
 * A new session for a principal whose ID token was just verified: `HttpOnly; SameSite=Strict; Path=/approvals`,
 * sealed (AES-256-GCM) under the `approver-session` key, valid for {@link SESSION_TTL_SECONDS}.
 */
export async function startSession(
  keys: KeyProvider,
  principal: Principal,
  now: Date,
  secure: boolean,
): Promise<{ session: ApproverSession; cookie: string }> {
  const session: ApproverSession = {
    v: 1,
    sid: randomToken(),
    principal,
    exp: Math.floor(now.getTime() / 1000) + SESSION_TTL_SECONDS,
  };
  const value = seal((await keysOf(keys)).cookie, SESSION_COOKIE, session);
  return {
    session,
    cookie: setCookie(SESSION_COOKIE, value, cookieOptions(secure, "Strict", SESSION_TTL_SECONDS)),
  };
}

/** The request's approver session, or undefined when absent, altered, sealed under another key or expired. */
export async function readSession(
  keys: KeyProvider,
  request: Request,
  now: Date,
): Promise<ApproverSession | undefined> {
  const raw = requestCookies(request).get(SESSION_COOKIE);
  if (raw === undefined) return undefined;
  const parsed = sessionSchema.safeParse(unseal((await keysOf(keys)).cookie, SESSION_COOKIE, raw));
  if (!parsed.success || parsed.data.exp <= now.getTime() / 1000) return undefined;
  return parsed.data;
}

/**
 * The sign-in transaction cookie. `SameSite=Lax`: the callback is a top-level navigation coming back from the
 * IdP, which a Strict cookie would not accompany. It carries no identity, only what binds the callback to this browser.
 */
export async function startLogin(
  keys: KeyProvider,
  approvalId: string,
  now: Date,
  secure: boolean,
): Promise<{ login: LoginTransaction; cookie: string }> {
  const login: LoginTransaction = {
    v: 1,
    state: randomToken(),
    nonce: randomToken(),
    verifier: randomToken(),
    approvalId,
    exp: Math.floor(now.getTime() / 1000) + LOGIN_TTL_SECONDS,
  };
  const value = seal((await keysOf(keys)).cookie, LOGIN_COOKIE, login);
  return { login, cookie: setCookie(LOGIN_COOKIE, value, cookieOptions(secure, "Lax", LOGIN_TTL_SECONDS)) };
}

/** The request's sign-in transaction, or undefined when absent, altered or expired. */
export async function readLogin(
  keys: KeyProvider,
  request: Request,
  now: Date,
): Promise<LoginTransaction | undefined> {
  const raw = requestCookies(request).get(LOGIN_COOKIE);
  if (raw === undefined) return undefined;
  const parsed = loginSchema.safeParse(unseal((await keysOf(keys)).cookie, LOGIN_COOKIE, raw));
  if (!parsed.success || parsed.data.exp <= now.getTime() / 1000) return undefined;
  return parsed.data;
}

/** Deletes the sign-in transaction cookie (after the callback used it). */
export function clearLoginCookie(secure: boolean): string {
  return setCookie(LOGIN_COOKIE, "", cookieOptions(secure, "Lax", 0));
}

function csrfValue(key: Buffer, sid: string, approvalId: string): Buffer {
  return createHmac("sha256", key).update(`csrf\u0000${sid}\u0000${approvalId}`).digest();
}

/** The CSRF token for one approval page in one session (HMAC over the session id and the approval id). */
export async function csrfToken(
  keys: KeyProvider,
  session: ApproverSession,
  approvalId: string,
): Promise<string> {
  return csrfValue((await keysOf(keys)).csrf, session.sid, approvalId).toString("base64url");
}

/** Whether `token` is this session's CSRF token for this approval (constant-time comparison). */
export async function verifyCsrf(
  keys: KeyProvider,
  session: ApproverSession,
  approvalId: string,
  token: string,
): Promise<boolean> {
  const expected = csrfValue((await keysOf(keys)).csrf, session.sid, approvalId);
  const given = Buffer.from(token, "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Whether two secrets are equal (constant time over equal lengths). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}
