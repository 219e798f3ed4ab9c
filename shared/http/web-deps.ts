// What the approver pages need besides the approval services: where approvers sign in.

import { UnavailableError } from "#shared/errors.ts";
import type { ApproverSignIn } from "#shared/web/oidc-client.ts";

/** Dependencies of the browser pages. */
export interface WebDeps {
  /** The OIDC provider approvers sign in with; undefined when none is configured (the pages then answer 503). */
  readonly signIn: ApproverSignIn | undefined;
}

/** The sign-in configuration, or `503 signin_unavailable`. */
export function requireSignIn(deps: WebDeps): ApproverSignIn {
  if (deps.signIn === undefined) {
    throw new UnavailableError("signin_unavailable", "approver sign-in is not configured on this gateway");
  }
  return deps.signIn;
}

/** Whether cookies must be `Secure` (the gateway is reached over https). */
export function secureCookies(publicUrl: string): boolean {
  return publicUrl.startsWith("https://");
}
