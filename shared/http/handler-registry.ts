// Route id → handler factory: the local host builds every handler from here; each Lambda entry builds its own.

import type { ApprovalDeps } from "#shared/approval/deps.ts";
import { ConfigurationError } from "#shared/errors.ts";
import type { EvidenceDeps } from "#shared/evidence/evidence-service.ts";
import type { ApiDeps, ApiHandler } from "#shared/http/api-handler.ts";
import { createApprovalSignInHandler } from "#shared/http/handlers/approval-sign-in.ts";
import { createGetApprovalPageHandler } from "#shared/http/handlers/get-approval-page.ts";
import { createGetSessionHandler } from "#shared/http/handlers/get-session.ts";
import { createGetSessionProofHandler } from "#shared/http/handlers/get-session-proof.ts";
import { createGetSessionReplayHandler } from "#shared/http/handlers/get-session-replay.ts";
import { createPostApprovalDecisionHandler } from "#shared/http/handlers/post-approval-decision.ts";
import { createPostApprovalPageHandler } from "#shared/http/handlers/post-approval-page.ts";
import { createPostEvidenceBundleHandler } from "#shared/http/handlers/post-evidence-bundle.ts";
import { createPostQueryHandler } from "#shared/http/handlers/post-query.ts";
import { ROUTES } from "#shared/http/routes.ts";
import type { WebDeps } from "#shared/http/web-deps.ts";
import type { LogDeps } from "#shared/log/log-ports.ts";

/** Everything any route handler may need. */
export type HandlerDeps = ApiDeps & ApprovalDeps & WebDeps & EvidenceDeps & LogDeps;

/** Factories by route id. */
export const HANDLER_FACTORIES: Readonly<Record<string, (deps: HandlerDeps) => ApiHandler>> = {
  "post-query": createPostQueryHandler,
  "get-session": createGetSessionHandler,
  "get-session-replay": createGetSessionReplayHandler,
  "get-session-proof": createGetSessionProofHandler,
  "post-evidence-bundle": createPostEvidenceBundleHandler,
  "post-approval-decision": createPostApprovalDecisionHandler,
  "get-approval-page": createGetApprovalPageHandler,
  "post-approval-page": createPostApprovalPageHandler,
  "approval-sign-in": createApprovalSignInHandler,
};

/** Builds the handler of every route in the table; a route without a factory is a configuration error. */
export function createHandlers(deps: HandlerDeps): Map<string, ApiHandler> {
  const handlers = new Map<string, ApiHandler>();
  for (const route of ROUTES) {
    const factory = HANDLER_FACTORIES[route.id];
    if (factory === undefined) throw new ConfigurationError(`route ${route.id} has no handler`);
    handlers.set(route.id, factory(deps));
  }
  return handlers;
}
