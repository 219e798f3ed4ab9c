// A route is declared once: a module in a routes folder is enough for the route table, the local server and the
// Lambda function list (its IAM and environment follow from its capabilities); a half declaration refuses to load.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionsOf } from "#infra/aws/functions.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { loadRouteTable, ROUTES_DIRECTORY } from "#shared/http/route-table.ts";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

const FIXTURE_ROUTES = new URL("../fixtures/routes/", import.meta.url);

describe("a route declared once", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ routeDirectories: [ROUTES_DIRECTORY, FIXTURE_ROUTES] });
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
  });

  it("appears in the route table beside the gateway's own, and in the Lambda function list with its capabilities", async () => {
    const table = await loadRouteTable([ROUTES_DIRECTORY, FIXTURE_ROUTES]);
    const own = await loadRouteTable();
    expect(table.routes.map((r) => r.id).sort()).toEqual(
      [...own.routes.map((r) => r.id), "get-fixture-echo"].sort(),
    );
    const matched = table.match("GET", "/v1/fixture-echo/hello");
    expect(matched).toMatchObject({ route: { id: "get-fixture-echo" }, pathParameters: { word: "hello" } });
    expect(own.match("GET", "/v1/fixture-echo/hello")).toBeUndefined();
    const lambda = functionsOf(table.routes, []).find((f) => f.id === "get-fixture-echo");
    expect(lambda).toMatchObject({
      kind: "route",
      entry: "functions/get-fixture-echo.ts",
      description: "phigate GET /v1/fixture-echo/{word}",
      capabilities: { sessions: "read", results: "none", database: false, workflow: "none" },
    });
  });

  it("is served by the local server, behind the token like every jwt route", async () => {
    const token = await gw.token(NIGHTLY);
    const answer = await gw.request("GET", "/v1/fixture-echo/hello", { token });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ word: "hello", subject: NIGHTLY });
    expect((await gw.request("GET", "/v1/fixture-echo/hello")).status).toBe(401);
    expect((await gw.request("POST", "/v1/fixture-echo/hello", { token })).status).toBe(405);
  });
});

describe("a half-declared route", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-routes-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function folderWith(file: string, source: string): Promise<URL> {
    const folder = await mkdtemp(join(dir, "case-"));
    await writeFile(join(folder, file), source);
    return pathToFileURL(`${folder}/`);
  }

  it("refuses a module that exports no route declaration", async () => {
    const folder = await folderWith("get-nothing.ts", "export const handler = () => undefined;\n");
    await expect(loadRouteTable([folder])).rejects.toThrow(ConfigurationError);
  });

  it("refuses a declaration in a file named after another id", async () => {
    const folder = await folderWith(
      "get-misnamed.ts",
      'export const route = { [Symbol.for("phigate.route")]: true, id: "get-other", method: "GET", path: "/x" };\n',
    );
    await expect(loadRouteTable([folder])).rejects.toThrow(/get-other\.ts/);
  });

  it("refuses a second declaration of a method and path", async () => {
    const folder = await folderWith(
      "get-session-again.ts",
      'export const route = { [Symbol.for("phigate.route")]: true, id: "get-session-again", method: "GET", path: "/v1/sessions/{id}" };\n',
    );
    await expect(loadRouteTable([ROUTES_DIRECTORY, folder])).rejects.toThrow(/declared twice/);
  });
});
