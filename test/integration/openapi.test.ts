// The OpenAPI document: generated from the route table (the committed copy is current), valid OpenAPI 3.1 by a
// maintained validator, listing every route with each of its methods, and served publicly by the local host.

import { readFile } from "node:fs/promises";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument, openApiText } from "#shared/http/openapi.ts";
import { routeMethods } from "#shared/http/route.ts";
import { loadRouteTable, type RouteTable } from "#shared/http/route-table.ts";
import { startTestGateway, type TestGateway } from "#test/support/gateway.ts";

type Operation = {
  operationId: string;
  security: unknown[];
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
};

describe("the OpenAPI document", () => {
  let table: RouteTable;
  let gw: TestGateway;

  beforeAll(async () => {
    table = await loadRouteTable();
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("is committed as the route table generates it (npm run openapi rewrites it)", async () => {
    expect(await readFile("docs/openapi.json", "utf8")).toBe(openApiText(table.routes));
  });

  it("is valid OpenAPI 3.1, and the validator refuses a broken copy", async () => {
    const document = openApiDocument(table.routes);
    const result = await new Validator().validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    const broken = structuredClone(document) as {
      components: { securitySchemes: { bearer: { type: string } } };
    };
    broken.components.securitySchemes.bearer.type = "token";
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it("lists every route of the route table under its path, once per method, with its auth and its body schema", () => {
    const paths = openApiDocument(table.routes).paths as Record<string, Record<string, Operation>>;
    expect(table.routes.length).toBeGreaterThanOrEqual(11);
    let operations = 0;
    for (const route of table.routes) {
      for (const method of routeMethods(route)) {
        const operation = paths[route.path]?.[method.toLowerCase()];
        expect(operation, `${method} ${route.path}`).toBeDefined();
        expect(operation?.security).toEqual(route.auth === "jwt" ? [{ bearer: [] }] : []);
        operations++;
      }
    }
    expect(Object.values(paths).reduce((n, item) => n + Object.keys(item).length, 0)).toBe(operations);
    const query = paths["/v1/queries"]?.post?.requestBody?.content["application/json"]?.schema;
    expect(Object.keys(query?.properties ?? {}).sort()).toEqual(["dryRun", "params", "purpose", "sql"]);
    expect(paths["/mcp"]?.post?.operationId).toBe("mcp-post");
    expect(paths["/mcp"]?.get?.requestBody).toBeUndefined();
  });

  it("is served without a token by the local host, as committed", async () => {
    const answer = await gw.request("GET", "/openapi.json");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    expect(answer.body).toEqual(JSON.parse(await readFile("docs/openapi.json", "utf8")));
  });
});
