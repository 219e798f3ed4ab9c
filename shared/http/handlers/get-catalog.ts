// GET /v1/catalog: the tables and columns the caller may read, with each column's masking.

import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import { defineRoute } from "#shared/http/route.ts";
import { describeCatalog } from "#shared/query/describe-catalog.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/** The `get-catalog` route handler. */
export function createGetCatalogHandler(
  deps: ApiDeps & Pick<SessionDeps, "policy" | "executor">,
): ApiHandler {
  return jwtHandler(deps, "get-catalog", async (_request, principal) =>
    jsonResponse(200, await describeCatalog(deps, principal)),
  );
}

/** The `get-catalog` route: it reads the catalog through the database (whose part brings the parser along). */
export const route = defineRoute({
  id: "get-catalog",
  method: "GET",
  path: "/v1/catalog",
  auth: "jwt",
  needsParser: true,
  capabilities: { database: true },
  create: createGetCatalogHandler,
});
