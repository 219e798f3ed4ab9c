// GET /openapi.json: the HTTP API's OpenAPI 3.1 document (docs/openapi.json, generated from the route table).

import { type ApiDeps, type ApiHandler, pageHandler } from "#shared/http/api-handler.ts";
import { API_HEADERS } from "#shared/http/error-response.ts";
import { defineRoute } from "#shared/http/route.ts";
import document from "../../../docs/openapi.json" with { type: "json" };

/**
 * The `get-openapi` route handler: the committed document, which a test keeps equal to the one the route table and
 * its zod schemas generate (`npm run openapi` rewrites it), so both hosts serve the same text without reading the
 * route folder at run time.
 */
export function createGetOpenApiHandler(deps: ApiDeps): ApiHandler {
  const text = JSON.stringify(document);
  return pageHandler(
    deps,
    "get-openapi",
    async () =>
      new Response(text, {
        status: 200,
        headers: { ...API_HEADERS, "cache-control": "public, max-age=300" },
      }),
  );
}

/** The `get-openapi` route: public, like the description of any API. */
export const route = defineRoute({
  id: "get-openapi",
  method: "GET",
  path: "/openapi.json",
  auth: "none",
  docs: {
    summary: "This document",
    description:
      "The HTTP API as OpenAPI 3.1, generated from the route table and the schemas that validate requests.",
    responses: { 200: "the OpenAPI document" },
  },
  needsParser: false,
  capabilities: {},
  create: createGetOpenApiHandler,
});
