// GET /v1/catalog against a local gateway: the caller's granted tables with their masking, nothing else, and only
// with a token.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NIGHTLY, startTestGateway, type TestGateway } from "#test/support/gateway.ts";

interface Described {
  principal: string | null;
  tables: { schema: string; name: string; columns: { name: string; masking: unknown }[] }[];
}

describe("GET /v1/catalog", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it("lists exactly the tables the policy grants the caller, each column with its masking", async () => {
    const answer = await gw.request("GET", "/v1/catalog", { token: await gw.token(NIGHTLY) });
    expect(answer.status).toBe(200);
    const body = answer.body as Described;
    expect(body.principal).toBe("nightly-report");
    expect(body.tables.map((t) => `${t.schema}.${t.name}`)).toEqual([
      "public.encounters",
      "public.medications",
      "public.patients",
    ]);
    const column = (table: string, name: string) =>
      body.tables.find((t) => t.name === table)?.columns.find((c) => c.name === name);
    expect(column("patients", "ssn")?.masking).toEqual({
      kind: "rule",
      strategy: "redact",
      keeps: expect.any(String),
      lookup: "approval",
      joinType: "public.patients.ssn",
    });
    expect(column("patients", "mrn")?.masking).toMatchObject({ strategy: "tokenize", lookup: "allow" });
    expect(column("encounters", "notes")?.masking).toMatchObject({ kind: "detectors" });
    expect(column("patients", "id")?.masking).toBeNull();
  });

  it("names nothing to a caller the policy grants nothing", async () => {
    const answer = await gw.request("GET", "/v1/catalog", { token: await gw.token("someone-else") });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ principal: null, tables: [] });
    expect(answer.text).not.toMatch(/patients|encounters|medications/);
  });

  it("refuses a caller without a token", async () => {
    const answer = await gw.request("GET", "/v1/catalog");
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe("unauthorized");
  });
});
