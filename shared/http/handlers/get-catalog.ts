// GET /v1/catalog: the tables and columns the caller may read, with each column's masking.

import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { defineRoute } from "#shared/http/route.ts";
import { describeCatalog } from "#shared/query/describe-catalog.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/** The `get-catalog` route handler. */
export function createGetCatalogHandler(
  deps: ApiDeps & Pick<SessionDeps, "policy" | "analyzer">,
): ApiHandler {
  return jwtHandler(deps, "get-catalog", async (_request, principal) =>
    jsonResponse(200, await describeCatalog(deps, principal)),
  );
}

/**
 * The `get-catalog` route: it describes the analyzer's cached catalog (read through the database, whose part brings
 * the parser along), so a request costs no database work of its own.
 */
export const route = defineRoute({
  id: "get-catalog",
  method: "GET",
  path: "/v1/catalog",
  auth: "jwt",
  docs: {
    summary: "What the caller may read",
    description:
      "The tables and columns the policy grants the caller, each with its type and masking (strategy, what it keeps, whether it may be looked up by equality), from the policy in force and the database's catalog. Nothing the caller may not read is named.",
    responses: {
      200: "principal (the policy entry that matched, or null), policy, tables, detectorKinds, limits",
      400: "invalid_request (or another snake_case code): the request is not valid",
      401: "unauthorized: no token, or a token the gateway does not trust (WWW-Authenticate: Bearer)",
      429: "rate_limited: too many requests from this caller (Retry-After)",
      503: "a store or the database is unavailable (fail closed)",
    },
  },
  needsParser: true,
  capabilities: { database: true },
  create: createGetCatalogHandler,
});
