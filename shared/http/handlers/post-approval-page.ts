// POST /approvals/{id}: the page's Approve / Deny form — same origin, signed-in session, CSRF token, then the one decision path.

import * as z from "zod";
import { APPROVAL_ID_PATTERN } from "#shared/approval/approval-request.ts";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { submitDecision } from "#shared/approval/submit-decision.ts";
import { AuthenticationError, ForbiddenError, NotFoundError } from "#shared/errors.ts";
import { type ApiDeps, type ApiHandler, pageHandler } from "#shared/http/api-handler.ts";
import { formBody, header, pathParameter } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import { requireSignIn, type WebDeps } from "#shared/http/web-deps.ts";
import { readSession, verifyCsrf } from "#shared/web/approver-session.ts";
import { redirect } from "#shared/web/page.ts";

/** The form the page posts. */
export const approvalFormSchema = z.strictObject({
  csrf: z.string().min(1).max(200),
  binding: z.string().regex(/^[0-9a-f]{64}$/),
  decision: z.enum(["approve", "deny"]),
  comment: z.string().max(2_000).optional(),
});

/**
 * Refuses a cross-site post: the `Origin` header must be the gateway's public origin (a browser sends it on a form
 * post); when it is absent or opaque (`null`), `Sec-Fetch-Site: same-origin` is required instead.
 */
export function checkOrigin(request: Request, publicUrl: string): void {
  const origin = header(request, "origin");
  const expected = new URL(publicUrl).origin;
  const ok =
    origin === undefined || origin === "null"
      ? header(request, "sec-fetch-site") === "same-origin"
      : origin === expected;
  if (!ok) throw new ForbiddenError("csrf_failed", "the form was not posted from the approval page");
}

/** The `post-approval-page` route handler. */
export function createPostApprovalPageHandler(deps: ApiDeps & ApprovalDeps & WebDeps): ApiHandler {
  return pageHandler(deps, "post-approval-page", async (request, context) => {
    const approvalId = pathParameter(context, "id");
    if (!APPROVAL_ID_PATTERN.test(approvalId)) throw new NotFoundError("no such approval request");
    requireSignIn(deps);
    checkOrigin(request, deps.publicUrl());
    const session = await readSession(deps.keys, request, deps.clock.now());
    if (session === undefined) {
      throw new AuthenticationError("your sign-in has expired; open the approval link again to sign in");
    }
    const form = await formBody(request, approvalFormSchema);
    if (!(await verifyCsrf(deps.keys, session, approvalId, form.csrf))) {
      throw new ForbiddenError(
        "csrf_failed",
        "this form was not issued to your session for this request; reload the page",
      );
    }
    const comment = form.comment?.trim() ?? "";
    await submitDecision(deps, session.principal, approvalId, {
      decision: form.decision,
      comment: comment === "" ? null : comment,
      binding: form.binding,
      via: "page",
    });
    return redirect(`/approvals/${approvalId}?done=${form.decision}`, 303);
  });
}

/** The `post-approval-page` route. */
export const route = defineRoute({
  id: "post-approval-page",
  method: "POST",
  path: "/approvals/{id}",
  auth: "none",
  docs: {
    summary: "The approval page's Approve / Deny form",
    description:
      "Same origin, a signed-in approver session and its CSRF token, bound to what the page showed; then the one decision path.",
    body: { schema: approvalFormSchema, mediaType: "application/x-www-form-urlencoded" },
    produces: ["text/html"],
    responses: {
      303: "back to the page, showing the decision",
      400: "a page: the form is not valid",
      401: "a page: the sign-in expired",
      403: "a page: csrf_failed, not_an_approver or self_approval",
      404: "a page: no such approval",
      409: "a page: already decided",
      410: "a page: expired",
      413: "a page: the form is larger than 16 KiB",
      415: "a page: not a form",
    },
  },
  needsParser: false,
  capabilities: {
    keys: true,
    sessions: "write",
    approvals: "write",
    workflow: "signal",
    publicUrl: true,
    signIn: "redirect",
  },
  create: createPostApprovalPageHandler,
});
