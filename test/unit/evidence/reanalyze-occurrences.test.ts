// Evidence re-analysis derives the occurrence weight from the SQL text and finds an export that counted fewer PHI rows per result row.

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
  "SELECT p0.ssn, p1.ssn, p2.ssn FROM patients p0 JOIN patients p1 ON p1.id = p0.id + 1000 JOIN patients p2 ON p2.id = p0.id + 2000 WHERE p0.id = 7";
let policy: LoadedPolicy;
let catalog: Catalog;

beforeAll(async () => {
  await loadSqlParser();
  const demo = await readFile("policy/demo.yaml", "utf8");
  const tests = demo
    .replace('sub: "repo:acme/ehr-reports:ref:refs/heads/main"', 'sub: "tester"')
    .replace("issuer: [github, dev]", "issuer: [tests]")
    .replace("github: https://token.actions.githubusercontent.com", "tests: https://idp.test/");
  policy = parsePolicy(tests, "tests.yaml");
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
      estimatedRows: 1,
      ...(occurrences === undefined ? {} : { occurrences }),
    },
  };
}

const messages = async (record: SessionRecord): Promise<string> =>
  (await reanalyzeExport({ record, policy, catalog, derived: undefined })).findings
    .map((f) => f.message)
    .join(" ");

describe("re-analysis and the occurrence weight", () => {
  it("finds an export whose record counted a self-join's rows once (an old record, or an edited one)", async () => {
    expect(await messages(exported(SELF_JOIN, undefined))).toMatch(
      /takes 3 PHI rows of public\.patients per result row \(occurrences of the table\), but 1 were counted/,
    );
    expect(await messages(exported(SELF_JOIN, { "public.patients": 2 }))).toMatch(/but 2 were counted/);
  });

  it("finds nothing about the weight when the record counted it, or for a single occurrence", async () => {
    expect(await messages(exported(SELF_JOIN, { "public.patients": 3 }))).not.toMatch(/PHI rows of/);
    const single = "SELECT ssn, dob, last_name FROM patients WHERE id = 7";
    expect(await messages(exported(single, undefined))).not.toMatch(/PHI rows of/);
  });
});

describe("re-analysis and the tables the read ledger counted", () => {
  const ran = (sql: string, phiTables: string[] | undefined, approved = false): SessionRecord => {
    const record = exported(sql, undefined);
    const at = record.createdAt;
    return {
      ...record,
      decision: { ...record.decision, ...(phiTables === undefined ? {} : { phiTables }) },
      execution: { startedAt: at, finishedAt: at, durationMs: 1, rowCount: 3, truncated: false },
      ...(approved
        ? {
            approval: {
              id: "a",
              expiresAt: at,
              quorum: 1,
              binding: "0".repeat(64),
              estimatedRows: null,
            },
          }
        : {}),
    };
  };
  const UNMASKED = "SELECT patient_id, diagnosis_code FROM encounters WHERE id = 7";

  it("finds an unapproved export whose record did not count a PHI table its result carries", async () => {
    expect(await messages(ran(UNMASKED, undefined))).toMatch(
      /returns rows of PHI table\(s\) public\.encounters its record did not count them against \(read ledger\)/,
    );
    expect(await messages(ran(UNMASKED, ["public.encounters"]))).not.toMatch(/read ledger/);
  });

  it("does not ask it of an approved export (the ledger counts unapproved reads only)", async () => {
    expect(await messages(ran(UNMASKED, undefined, true))).not.toMatch(/read ledger/);
  });
});
