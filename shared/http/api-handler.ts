// Wraps a route's logic into a Lambda-shaped handler: authenticate, run, map errors, log one safe line.

import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { AuthenticationError } from "#shared/errors.ts";
import { errorResponse, htmlErrorResponse } from "#shared/http/error-response.ts";
import type { RateLimiter } from "#shared/http/rate-limiter.ts";
import { header } from "#shared/http/request.ts";
import type { RouteAuth } from "#shared/http/routes.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { bearerToken, type TokenVerifier } from "#shared/identity/token-verifier.ts";
import type { Logger } from "#shared/log.ts";

/** A Lambda handler for API Gateway HTTP API (payload v2) events. */
export type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** What every wrapped handler needs. */
export interface ApiDeps {
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  /** Per-caller request limits (429 beyond them). */
  readonly rateLimiter?: RateLimiter;
}

/** Query parameters that would carry a token in a URL (where it leaks into logs and histories). */
const TOKEN_QUERY_PARAMETERS = ["access_token", "id_token", "token", "jwt"];

/** Verifies the bearer token of an event; the token is only ever accepted from the Authorization header. */
export async function authenticate(
  verifier: TokenVerifier,
  event: APIGatewayProxyEventV2,
): Promise<Principal> {
  const query = event.queryStringParameters ?? {};
  if (TOKEN_QUERY_PARAMETERS.some((name) => name in query)) {
    throw new AuthenticationError("tokens are accepted only in the Authorization header");
  }
  return verifier.verify(bearerToken(header(event, "authorization")));
}

/** Builds a handler for a `jwt` route: the logic receives a verified principal. */
export function jwtHandler(
  deps: ApiDeps,
  routeId: string,
  logic: (event: APIGatewayProxyEventV2, principal: Principal) => Promise<APIGatewayProxyStructuredResultV2>,
): ApiHandler {
  return wrap(deps, routeId, "jwt", async (event) => {
    const principal = await authenticate(deps.verifier, event);
    deps.rateLimiter?.take(principal);
    return logic(event, principal);
  });
}

/** Builds a handler for a browser page (no bearer token; it signs its user in): errors become HTML pages. */
export function pageHandler(
  deps: ApiDeps,
  routeId: string,
  logic: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>,
): ApiHandler {
  return wrap(deps, routeId, "none", logic, htmlErrorResponse);
}

function wrap(
  deps: ApiDeps,
  routeId: string,
  auth: RouteAuth,
  logic: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>,
  mapError: (error: unknown, logger: ApiDeps["logger"]) => APIGatewayProxyStructuredResultV2 = errorResponse,
): ApiHandler {
  return async (event) => {
    const started = performance.now();
    let response: APIGatewayProxyStructuredResultV2;
    try {
      response = await logic(event);
    } catch (error) {
      response = mapError(error, deps.logger);
    }
    deps.logger.info("request", {
      route: routeId,
      auth,
      status: response.statusCode,
      ms: Math.round(performance.now() - started),
    });
    return response;
  };
}
