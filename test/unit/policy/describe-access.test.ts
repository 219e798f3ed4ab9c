// describeAccess: the granted tables and columns with their masking, and nothing the caller may not read.

import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { type Principal, principalKey } from "#shared/identity/principal.ts";
import { describeAccess } from "#shared/policy/describe-access.ts";
import { type LoadedPolicy, parsePolicy } from "#shared/policy/load.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog } from "#shared/sql/types.ts";
import { ddlCatalog } from "#test/support/builtins.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

const DEV_ISSUER = "http://127.0.0.1:8787/dev-idp";
const CONTEXT = { devIssuer: DEV_ISSUER };
const EXTRA_DDL = `
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id integer, patient_id integer, amount numeric(10,2), ssn text);
`;

function principal(subject: string, groups: string[] = []): Principal {
  return {
    issuer: DEV_ISSUER,
    subject,
    key: principalKey(DEV_ISSUER, subject),
    audience: ["phigate"],
    groups,
    claims: {},
    expiresAt: 0,
  };
}

let demo: LoadedPolicy;
let catalog: Catalog;

beforeAll(async () => {
  await loadSqlParser();
  const tables = ddlCatalog(`${EHR_SCHEMA_SQL}\n${EXTRA_DDL}`);
  catalog = {
    ...tables,
    relations: [
      ...tables.relations,
      {
        schema: "public",
        table: "patient_years",
        kind: "view",
        columns: [
          { name: "id", type: "integer" },
          { name: "dob", type: "date" },
        ],
      },
    ],
  };
  demo = parsePolicy(await readFile("policy/demo.yaml", "utf8"), "policy/demo.yaml");
});

describe("describeAccess", () => {
  it("lists the nightly job's granted tables with each column's masking, and no other table", () => {
    const description = describeAccess(
      demo,
      principal("repo:acme/ehr-reports:ref:refs/heads/main"),
      catalog,
      CONTEXT,
    );
    expect(description.principal).toBe("nightly-report");
    expect(description.tables.map((t) => `${t.schema}.${t.name}`)).toEqual([
      "public.encounters",
      "public.medications",
      "public.patients",
    ]);
    const patients = description.tables.find((t) => t.name === "patients");
    const column = (name: string) => patients?.columns.find((c) => c.name === name);
    expect(column("id")?.masking).toBeNull();
    expect(column("ssn")?.masking).toMatchObject({ kind: "rule", strategy: "redact", lookup: "approval" });
    expect(column("mrn")?.masking).toMatchObject({
      kind: "rule",
      strategy: "tokenize",
      lookup: "allow",
      joinType: "mrn",
    });
    expect(column("dob")?.masking).toMatchObject({
      kind: "rule",
      strategy: "generalize",
      keeps: "birth year",
      lookup: "deny",
    });
    const notes = description.tables
      .find((t) => t.name === "encounters")
      ?.columns.find((c) => c.name === "notes");
    expect(notes?.masking).toEqual({ kind: "detectors", detects: ["ssn", "phone", "email", "mrn", "date"] });
    expect(JSON.stringify(description)).not.toMatch(/billing|invoices|patient_years/);
    expect(description.limits).toEqual({ maxRows: 10000, statementTimeoutMs: 10000 });
  });

  it("names nothing for a caller the policy does not know, or for an approver with no grants", () => {
    for (const who of [principal("stranger"), principal("alice", ["phi-approvers"])]) {
      const description = describeAccess(demo, who, catalog, CONTEXT);
      expect(description.principal).toBeNull();
      expect(description.tables).toEqual([]);
    }
  });

  it("keeps to the granted columns, and marks view columns as masked by lineage", () => {
    const policy = parsePolicy(
      `version: 1
name: narrow
principals:
  - id: narrow
    match: { issuer: ${DEV_ISSUER}, sub: narrow }
    grants:
      - tables: [public.patients]
        columns: [id, zip]
      - tables: [public.patient_years]
masking:
  rules:
    public.patients.zip: { strategy: generalize, to: zip3 }
`,
      "narrow.yaml",
    );
    const description = describeAccess(policy, principal("narrow"), catalog, CONTEXT);
    expect(description.tables).toEqual([
      {
        schema: "public",
        name: "patient_years",
        kind: "view",
        columns: [
          { name: "id", type: "integer", masking: { kind: "lineage" } },
          { name: "dob", type: "date", masking: { kind: "lineage" } },
        ],
      },
      {
        schema: "public",
        name: "patients",
        kind: "table",
        columns: [
          { name: "id", type: "int4", masking: null },
          {
            name: "zip",
            type: "text",
            masking: {
              kind: "rule",
              strategy: "generalize",
              keeps: "zip3",
              lookup: "deny",
              joinType: "public.patients.zip",
            },
          },
        ],
      },
    ]);
  });
});
