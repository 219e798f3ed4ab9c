// HTTP routes of the development IdP: discovery, JWKS and `POST /dev-idp/token` (contract §3).

import type { IncomingMessage } from "node:http";
import type { DevIdp } from "#infra/local/dev-idp.ts";
import { devTokenRequestSchema } from "#infra/local/dev-idp.ts";
import type { LocalRoute } from "#infra/local/server.ts";
import { BadRequestError, MethodNotAllowedError, NotFoundError } from "#shared/errors.ts";
import { jsonResponse } from "#shared/http/error-response.ts";

/** Mount point of the dev IdP. */
export const DEV_IDP_PATH = "/dev-idp";

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new BadRequestError("invalid_json", "the request body is not valid JSON");
  }
}

/** The dev IdP's routes; anything else under /dev-idp is 404. */
export function devIdpRoutes(idp: DevIdp, extra: readonly LocalRoute[] = []): LocalRoute {
  return async (request: IncomingMessage, url: URL, body: string) => {
    if (url.pathname !== DEV_IDP_PATH && !url.pathname.startsWith(`${DEV_IDP_PATH}/`)) return undefined;
    const path = url.pathname.slice(DEV_IDP_PATH.length);
    if (path === "/.well-known/openid-configuration" && request.method === "GET")
      return jsonResponse(200, idp.discovery());
    if (path === "/.well-known/jwks.json" && request.method === "GET") return jsonResponse(200, idp.jwks());
    for (const route of extra) {
      const result = await route(request, url, body);
      if (result !== undefined) return result;
    }
    if (path === "/token") {
      if (request.method !== "POST") throw new MethodNotAllowedError("use POST");
      const parsed = devTokenRequestSchema.safeParse(parseJson(body));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new BadRequestError(
          "invalid_request",
          `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`,
        );
      }
      return jsonResponse(200, await idp.mint(parsed.data));
    }
    throw new NotFoundError("no such dev IdP route");
  };
}
