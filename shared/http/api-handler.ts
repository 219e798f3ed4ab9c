// Wraps a route's logic into a route handler (web Request in, Response out): authenticate, run, map errors, log one safe line.

import { AuthenticationError } from "#shared/errors.ts";
import { errorResponse, htmlErrorResponse } from "#shared/http/error-response.ts";
import type { RateLimiter } from "#shared/http/rate-limiter.ts";
import { header, type RouteContext } from "#shared/http/request.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { bearerToken, type TokenVerifier } from "#shared/identity/token-verifier.ts";
import type { Logger } from "#shared/log.ts";

/**
 * A route handler: the web platform's `Request` in, its `Response` out. The local server hands it the request it
 * received; on AWS the edge (infra/aws/edge.ts) converts API Gateway's event to a `Request` and the `Response` back.
 */
export type ApiHandler = (request: Request, context: RouteContext) => Promise<Response>;

/** How a route authenticates its caller. */
export type RouteAuth =
  /** `Authorization: Bearer <JWT>`, verified at the edge (AWS) and again by the function (both hosts). */
  | "jwt"
  /** No token: browser pages that sign their user in themselves, or signed links. */
  | "none";

/** What every wrapped handler needs. */
export interface ApiDeps {
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  /** Per-caller request limits (429 beyond them). */
  readonly rateLimiter?: RateLimiter;
}

/** Query parameters that would carry a token in a URL (where it leaks into logs and histories). */
const TOKEN_QUERY_PARAMETERS = ["access_token", "id_token", "token", "jwt"];

/**
 * Verifies the bearer token of a request; the token is only ever accepted from the Authorization header. On AWS the
 * API's JWT authorizer has verified it already; the handler verifies it again (both hosts), so a function reached
 * some other way trusts nothing it did not check itself.
 */
export async function authenticate(verifier: TokenVerifier, request: Request): Promise<Principal> {
  const query = request.url.includes("?") ? new URL(request.url).searchParams : undefined;
  if (query !== undefined && TOKEN_QUERY_PARAMETERS.some((name) => query.has(name))) {
    throw new AuthenticationError("tokens are accepted only in the Authorization header");
  }
  return verifier.verify(bearerToken(header(request, "authorization")));
}

/** Builds a handler for a `jwt` route: the logic receives a verified principal. */
export function jwtHandler(
  deps: ApiDeps,
  routeId: string,
  logic: (request: Request, principal: Principal, context: RouteContext) => Promise<Response>,
): ApiHandler {
  return wrap(deps, routeId, "jwt", async (request, context) => {
    const principal = await authenticate(deps.verifier, request);
    deps.rateLimiter?.take(principal);
    return logic(request, principal, context);
  });
}

/** Builds a handler for a browser page (no bearer token; it signs its user in): errors become HTML pages. */
export function pageHandler(deps: ApiDeps, routeId: string, logic: ApiHandler): ApiHandler {
  return wrap(deps, routeId, "none", logic, htmlErrorResponse);
}

function wrap(
  deps: ApiDeps,
  routeId: string,
  auth: RouteAuth,
  logic: ApiHandler,
  mapError: (error: unknown, logger: ApiDeps["logger"]) => Response = errorResponse,
): ApiHandler {
  return async (request, context) => {
    const started = performance.now();
    let response: Response;
    try {
      response = await logic(request, context);
    } catch (error) {
      response = mapError(error, deps.logger);
    }
    deps.logger.info("request", {
      route: routeId,
      auth,
      status: response.status,
      ms: Math.round(performance.now() - started),
    });
    return response;
  };
}
