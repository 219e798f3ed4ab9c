// Evidence re-analysis re-checks the recorded planner cost against the maxPlannerCost of the policy in force.

import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { reanalyzeExport } from "#shared/evidence/reanalyze.ts";
import { type LoadedPolicy, parsePolicy } from "#shared/policy/load.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog } from "#shared/sql/types.ts";
import { ddlCatalog } from "#test/support/builtins.ts";
import { sampleRecord } from "#test/support/records.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

const SQL = "SELECT id, state FROM patients WHERE id = 7";
let policy: LoadedPolicy;
let catalog: Catalog;

beforeAll(async () => {
  await loadSqlParser();
  const demo = await readFile("policy/demo.yaml", "utf8");
  const limited = demo
    .replace("statementTimeoutMs: 5000", "statementTimeoutMs: 5000\n  maxPlannerCost: 100")
    .replace('sub: "repo:acme/ehr-reports:ref:refs/heads/main"', 'sub: "tester"')
    .replace("issuer: [github, dev]", "issuer: [tests]")
    .replace("github: https://token.actions.githubusercontent.com", "tests: https://idp.test/");
  policy = parsePolicy(limited, "limited.yaml");
  catalog = ddlCatalog(EHR_SCHEMA_SQL);
});

function exported(estimatedCost: number | undefined): SessionRecord {
  const base = sampleRecord();
  return {
    ...base,
    status: "completed",
    request: { ...base.request, sql: SQL },
    decision: {
      ...base.decision,
      policy: { name: policy.document.name, digest: policy.digest },
      matchedPrincipal: "nightly-report",
      estimatedRows: 1,
      ...(estimatedCost === undefined ? {} : { estimatedCost }),
    },
  };
}

describe("re-analysis and the planner's cost", () => {
  it("finds an export whose recorded cost was above the limit in force, and none below it", async () => {
    const within = await reanalyzeExport({ record: exported(8.3), policy, catalog, derived: undefined });
    expect(within.findings.map((f) => f.message).join(" ")).not.toMatch(/cost/);
    const above = await reanalyzeExport({ record: exported(4_200), policy, catalog, derived: undefined });
    expect(above.differs).toBe(true);
    expect(above.findings.map((f) => f.message).join(" ")).toMatch(/cost over the limit 100; refused/);
  });

  it("finds an export whose record carries no cost while the policy limits it", async () => {
    const missing = await reanalyzeExport({
      record: exported(undefined),
      policy,
      catalog,
      derived: undefined,
    });
    expect(missing.findings.map((f) => f.message).join(" ")).toMatch(/does not carry/);
  });
});
