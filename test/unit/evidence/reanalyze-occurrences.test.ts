// Evidence re-analysis re-derives the PHI rows per result row (occurrences of a protected table) from the statement.

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

const SELF_JOIN =
  "SELECT p0.ssn, p1.dob, p2.last_name FROM patients p0 JOIN patients p1 ON p1.id = p0.id + 1000 JOIN patients p2 ON p2.id = p0.id + 2000 WHERE p0.id BETWEEN 1 AND 100";
const SINGLE = "SELECT id, ssn, dob, last_name FROM patients WHERE id BETWEEN 1 AND 100";
let policy: LoadedPolicy;
let catalog: Catalog;

beforeAll(async () => {
  await loadSqlParser();
  const demo = await readFile("policy/demo.yaml", "utf8");
  const tester = demo
    .replace('sub: "repo:acme/ehr-reports:ref:refs/heads/main"', 'sub: "tester"')
    .replace("issuer: [github, dev]", "issuer: [tests]")
    .replace("github: https://token.actions.githubusercontent.com", "tests: https://idp.test/");
  policy = parsePolicy(tester, "tester.yaml");
  catalog = ddlCatalog(EHR_SCHEMA_SQL);
});

function exported(sql: string, occurrences: Record<string, number> | undefined): SessionRecord {
  const base = sampleRecord();
  return {
    ...base,
    status: "completed",
    request: { ...base.request, sql },
    decision: {
      ...base.decision,
      policy: { name: policy.document.name, digest: policy.digest },
      matchedPrincipal: "nightly-report",
      estimatedRows: 100,
      ...(occurrences === undefined ? {} : { occurrences }),
    },
  };
}

/** The re-analysis findings about occurrences, as one string. */
async function occurrenceFindings(record: SessionRecord): Promise<{ differs: boolean; text: string }> {
  const result = await reanalyzeExport({ record, policy, catalog, derived: undefined });
  const text = result.findings
    .map((f) => f.message)
    .filter((m) => m.includes("per result row"))
    .join(" ");
  return { differs: result.differs, text };
}

describe("re-analysis and the occurrences of a protected table", () => {
  it("finds a record that counted a three-way self-join's rows once", async () => {
    const once = await occurrenceFindings(exported(SELF_JOIN, undefined));
    expect(once.differs).toBe(true);
    expect(once.text).toMatch(
      /takes 3 PHI rows of public\.patients per result row \(occurrences of the table\), but 1 were counted/,
    );
    const under = await occurrenceFindings(exported(SELF_JOIN, { "public.patients": 2 }));
    expect(under.text).toMatch(/takes 3 PHI rows .* but 2 were counted/);
  });

  it("finds nothing when the record counted what the statement takes", async () => {
    expect((await occurrenceFindings(exported(SELF_JOIN, { "public.patients": 3 }))).text).toBe("");
    expect((await occurrenceFindings(exported(SINGLE, undefined))).text).toBe("");
  });
});
