// GET /approvals/{id}: the approver's page; without a session it starts the OIDC sign-in (a link alone shows nothing).

import * as z from "zod";
import { APPROVAL_ID_PATTERN } from "#shared/approval/approval-request.ts";
import { isRequester } from "#shared/approval/decision-rules.ts";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { renderApprovalPage } from "#shared/approval/page/approval-page.ts";
import { isApprover, loadApproval } from "#shared/approval/submit-decision.ts";
import { NotFoundError } from "#shared/errors.ts";
import { type ApiDeps, type ApiHandler, pageHandler } from "#shared/http/api-handler.ts";
import { pathParameter, queryParameter, type RouteContext } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import { requireSignIn, secureCookies, type WebDeps } from "#shared/http/web-deps.ts";
import { principalLabel } from "#shared/identity/principal.ts";
import { loadPgScanner } from "#shared/sql/pg-wasm.ts";
import { csrfToken, readSession, startLogin } from "#shared/web/approver-session.ts";
import { authorizationUrl } from "#shared/web/oidc-client.ts";
import { htmlPage, messagePage, redirect } from "#shared/web/page.ts";

type Deps = ApiDeps & ApprovalDeps & WebDeps;

/** Starts a sign-in for an approval page: the sealed transaction cookie, then the IdP's authorization endpoint. */
async function beginSignIn(deps: Deps, approvalId: string): Promise<Response> {
  const signIn = requireSignIn(deps);
  const { login, cookie } = await startLogin(
    deps.keys,
    approvalId,
    deps.clock.now(),
    secureCookies(deps.publicUrl()),
  );
  return redirect(authorizationUrl(signIn, login), 302, [cookie]);
}

function approvalIdOf(context: RouteContext): string {
  const approvalId = pathParameter(context, "id");
  if (!APPROVAL_ID_PATTERN.test(approvalId)) throw new NotFoundError("no such approval request");
  return approvalId;
}

/** The `get-approval-page` route handler. */
export function createGetApprovalPageHandler(deps: Deps): ApiHandler {
  const highlighter = loadPgScanner();
  highlighter.catch(() => undefined);
  return pageHandler(deps, "get-approval-page", async (request, context) => {
    const approvalId = approvalIdOf(context);
    const now = deps.clock.now();
    const session =
      queryParameter(request, "signin") === undefined
        ? await readSession(deps.keys, request, now)
        : undefined;
    if (session === undefined) return beginSignIn(deps, approvalId);
    const state = await loadApproval(deps, approvalId);
    const viewer = session.principal;
    const again = { href: `/approvals/${approvalId}?signin=1`, text: "Sign in as someone else" };
    if (isRequester(state, viewer)) {
      return messagePage(
        403,
        "Not allowed",
        "You requested this statement; another person must review it. (self_approval)",
        { link: again },
      );
    }
    if (!isApprover(deps, viewer)) {
      return messagePage(
        403,
        "Not allowed",
        `You are signed in as ${principalLabel(viewer)}, who is not an approver under the policy in force. (not_an_approver)`,
        { link: again },
      );
    }
    const record = await deps.sessions.get(state.sessionId);
    if (record === undefined) throw new NotFoundError("the approval's session is not recorded");
    await highlighter;
    const asked = queryParameter(request, "done");
    const done = asked === "approve" || asked === "deny" ? asked : undefined;
    const body = renderApprovalPage({
      state,
      record,
      viewer: { label: principalLabel(viewer), key: viewer.key, subject: viewer.subject },
      csrf: await csrfToken(deps.keys, session, approvalId),
      now,
      done,
    });
    return htmlPage(200, `Approval ${approvalId}`, body);
  });
}

/** The `get-approval-page` route. */
export const route = defineRoute({
  id: "get-approval-page",
  method: "GET",
  path: "/approvals/{id}",
  auth: "none",
  docs: {
    summary: "The approver's page",
    description:
      "Requester, claims, the exact SQL, why it is risky, the masking that will apply, expiry; Approve / Deny. Without a signed-in approver session it redirects to the sign-in provider: a link alone shows nothing.",
    query: {
      signin: { description: "present: sign in again even with a session", schema: z.string() },
      done: {
        description: "approve or deny: the decision just made, for the confirmation",
        schema: z.string(),
      },
    },
    produces: ["text/html"],
    responses: {
      200: "the page",
      302: "to the sign-in provider (no session yet)",
      403: "a page: the signed-in person may not decide this approval",
      404: "a page: no such approval",
      503: "a page: approver sign-in is not configured",
    },
  },
  // The page highlights the SQL with PostgreSQL's scanner (the same WASM).
  needsParser: true,
  capabilities: {
    keys: true,
    sessions: "read",
    approvals: "read",
    publicUrl: true,
    signIn: "redirect",
  },
  create: createGetApprovalPageHandler,
});
