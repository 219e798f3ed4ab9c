// HTTP routes of the development IdP: discovery, JWKS, the sign-in form and `POST /dev-idp/token` (contract §3).

import { DevAuthorization } from "#infra/local/dev-idp/authorize.ts";
import type { DevIdp } from "#infra/local/dev-idp/dev-idp.ts";
import { devTokenRequestSchema } from "#infra/local/dev-idp/dev-idp.ts";
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

function formFields(body: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(body)) {
    if (name in fields) throw new BadRequestError("invalid_request", `the field ${name} appears twice`);
    fields[name] = value;
  }
  return fields;
}

function isForm(request: Request): boolean {
  return /^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers.get("content-type") ?? "");
}

/**
 * The dev IdP's routes; anything else under /dev-idp is 404. `/authorize` shows a sign-in form (GET) and issues a
 * code (POST); `/token` redeems a code (form body, `grant_type=authorization_code`) or mints a token (JSON, §3).
 */
export function devIdpRoutes(
  idp: DevIdp,
  extra: readonly LocalRoute[] = [],
  redirectOrigins: readonly string[] = [],
): LocalRoute {
  const authorization = new DevAuthorization(idp, redirectOrigins);
  return async (request: Request) => {
    const url = new URL(request.url);
    if (url.pathname !== DEV_IDP_PATH && !url.pathname.startsWith(`${DEV_IDP_PATH}/`)) return undefined;
    const path = url.pathname.slice(DEV_IDP_PATH.length);
    if (path === "/.well-known/openid-configuration" && request.method === "GET")
      return jsonResponse(200, idp.discovery());
    if (path === "/.well-known/jwks.json" && request.method === "GET") return jsonResponse(200, idp.jwks());
    for (const route of extra) {
      const result = await route(request);
      if (result !== undefined) return result;
    }
    if (path === "/authorize") {
      if (request.method === "GET")
        return authorization.form(authorization.request(Object.fromEntries(url.searchParams)));
      if (request.method !== "POST") throw new MethodNotAllowedError("use GET or POST");
      if (!isForm(request))
        throw new BadRequestError("invalid_request", "the sign-in form posts a form body");
      return authorization.signIn(formFields(await request.text()));
    }
    if (path === "/token") {
      if (request.method !== "POST") throw new MethodNotAllowedError("use POST");
      const body = await request.text();
      if (isForm(request)) return jsonResponse(200, await authorization.redeem(formFields(body)));
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
