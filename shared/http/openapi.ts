// The OpenAPI 3.1 document of the HTTP API, generated from the route table and the zod schemas that validate requests.

import * as z from "zod";
import { type RouteDeclaration, type RouteDocs, routeMethods } from "#shared/http/route.ts";
import { GENERATOR } from "#shared/version.ts";

/** The error body every JSON answer of status 400 or more carries (contract §2). */
export const errorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.string().regex(/^[a-z][a-z0-9_]*$/),
    message: z.string(),
    sessionId: z.string().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

type JsonObject = Record<string, unknown>;

/** A request schema as JSON Schema 2020-12 (what OpenAPI 3.1 schema objects are), as a client writes it. */
function jsonSchema(schema: z.ZodType): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return rest;
}

function parameters(route: RouteDeclaration, docs: RouteDocs | undefined): JsonObject[] {
  const fromPath = [...route.path.matchAll(/\{([a-zA-Z]+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const fromQuery = Object.entries(docs?.query ?? {}).map(([name, q]) => ({
    name,
    in: "query",
    required: false,
    description: q.description,
    schema: jsonSchema(q.schema),
  }));
  return [...fromPath, ...fromQuery];
}

function responses(docs: RouteDocs | undefined): JsonObject {
  const produces = docs?.produces ?? ["application/json"];
  const listed = docs?.responses ?? { 200: "the answer" };
  const out: JsonObject = {};
  for (const [status, description] of Object.entries(listed)) {
    const error = Number(status) >= 400;
    const content = Object.fromEntries(
      produces.map((type) => [
        type,
        {
          schema:
            type === "text/html"
              ? { type: "string" }
              : error
                ? { $ref: "#/components/schemas/Error" }
                : { type: "object" },
        },
      ]),
    );
    out[status] = { description, content };
  }
  return out;
}

function operation(route: RouteDeclaration, method: string, several: boolean): JsonObject {
  const docs = route.docs;
  const params = parameters(route, docs);
  return {
    operationId: several ? `${route.id}-${method.toLowerCase()}` : route.id,
    summary: docs?.summary ?? `${method} ${route.path}`,
    ...(docs?.description === undefined ? {} : { description: docs.description }),
    security: route.auth === "jwt" ? [{ bearer: [] }] : [],
    ...(params.length === 0 ? {} : { parameters: params }),
    ...(docs?.body === undefined || method !== "POST"
      ? {}
      : {
          requestBody: {
            required: true,
            content: { [docs.body.mediaType]: { schema: jsonSchema(docs.body.schema) } },
          },
        }),
    responses: responses(docs),
  };
}

/** The document for `routes`: every route under its path, once per method it answers. */
export function openApiDocument(routes: readonly RouteDeclaration[]): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of routes) {
    const methods = routeMethods(route);
    const item = paths[route.path] ?? {};
    paths[route.path] = item;
    for (const method of methods) item[method.toLowerCase()] = operation(route, method, methods.length > 1);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "phigate",
      version: GENERATOR.version,
      description:
        "The PHI access gateway's HTTP API: SQL with an OIDC token in, a masked and recorded answer out. " +
        "docs/api.md in the repository describes every route in words.",
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "An OIDC token from an issuer the policy trusts, in the Authorization header only.",
        },
      },
      schemas: { Error: jsonSchema(errorBodySchema) },
    },
  };
}

/** The document's text as committed in docs/openapi.json (and served at `GET /openapi.json`). */
export function openApiText(routes: readonly RouteDeclaration[]): string {
  return `${JSON.stringify(openApiDocument(routes), null, 2)}\n`;
}
