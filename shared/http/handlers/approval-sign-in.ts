// GET /approvals/oidc/callback: finishes the approver's OIDC sign-in (state, PKCE, ID token, nonce) and sets the session.

import * as z from "zod";
import { APPROVAL_ID_PATTERN } from "#shared/approval/approval-request.ts";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { AuthenticationError } from "#shared/errors.ts";
import { type ApiDeps, type ApiHandler, pageHandler } from "#shared/http/api-handler.ts";
import { queryParameter } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import { requireSignIn, secureCookies, type WebDeps } from "#shared/http/web-deps.ts";
import { principalLabel } from "#shared/identity/principal.ts";
import { clearLoginCookie, readLogin, sameSecret, startSession } from "#shared/web/approver-session.ts";
import { exchangeCode, verifyIdToken } from "#shared/web/oidc-client.ts";
import { messagePage } from "#shared/web/page.ts";

/**
 * The `approval-sign-in` route handler. It answers with a page that moves on to the approval by itself rather than
 * a redirect: the session cookie is `SameSite=Strict`, which a navigation chain that began at the IdP would not carry.
 */
export function createApprovalSignInHandler(deps: ApiDeps & ApprovalDeps & WebDeps): ApiHandler {
  return pageHandler(deps, "approval-sign-in", async (request) => {
    const signIn = requireSignIn(deps);
    const query = {
      error: queryParameter(request, "error"),
      state: queryParameter(request, "state"),
      code: queryParameter(request, "code"),
    };
    const now = deps.clock.now();
    const login = await readLogin(deps.keys, request, now);
    if (login === undefined) {
      throw new AuthenticationError(
        "this sign-in expired or began in another browser; open the approval link again",
      );
    }
    if (query.error !== undefined) {
      const code = /^[a-z_]{1,64}$/.test(query.error) ? query.error : "error";
      throw new AuthenticationError(`the sign-in provider answered ${code}`);
    }
    if (query.state === undefined || !sameSecret(query.state, login.state)) {
      throw new AuthenticationError("the sign-in answer does not belong to this browser's sign-in (state)");
    }
    if (query.code === undefined || query.code.length > 2_048) {
      throw new AuthenticationError("the sign-in answer carries no code");
    }
    const idToken = await exchangeCode(signIn, query.code, login.verifier);
    const principal = await verifyIdToken(deps.verifier, signIn, idToken, login.nonce);
    const secure = secureCookies(deps.publicUrl());
    const { cookie } = await startSession(deps.keys, principal, now, secure);
    deps.logger.info("approver signed in", { approvalId: login.approvalId, approver: principal.key });
    const target = APPROVAL_ID_PATTERN.test(login.approvalId)
      ? `/approvals/${login.approvalId}`
      : "/approvals/";
    return messagePage(
      200,
      "Signed in",
      `Signed in as ${principalLabel(principal)}. Opening the approval request…`,
      {
        cookies: [cookie, clearLoginCookie(secure)],
        link: { href: target, text: "Continue" },
        refreshTo: target,
      },
    );
  });
}

/** The `approval-sign-in` route. */
export const route = defineRoute({
  id: "approval-sign-in",
  method: "GET",
  path: "/approvals/oidc/callback",
  auth: "none",
  docs: {
    summary: "The approver sign-in callback (OIDC code flow with PKCE)",
    query: {
      code: { description: "the authorization code", schema: z.string() },
      state: { description: "the sign-in's state", schema: z.string() },
      error: { description: "the provider's error code, when it refused", schema: z.string() },
    },
    produces: ["text/html"],
    responses: {
      200: "a page that continues to the approval (the session cookie is set)",
      401: "a page: the sign-in failed (state, code, nonce or ID token)",
      503: "a page: approver sign-in is not configured",
    },
  },
  needsParser: false,
  capabilities: { keys: true, publicUrl: true, signIn: "exchange" },
  create: createApprovalSignInHandler,
});
