// The session record builders make exactly the schema's shape: the stores write what they are given, unparsed.

import { beforeAll, describe, expect, it } from "vitest";
import { type Principal, principalKey } from "#shared/identity/principal.ts";
import { newSessionId } from "#shared/ids.ts";
import type { Decision } from "#shared/policy/evaluate.ts";
import { newSessionRecord, type RequestContext } from "#shared/sessions/new-record.ts";
import { type SessionRecord, sessionRecordSchema, transition } from "#shared/sessions/record.ts";
import type { AnalyzedStatement } from "#shared/sql/statement-analyzer.ts";
import { createStatementAnalyzer } from "#shared/sql/statement-analyzer.ts";
import { ddlCatalog } from "#test/support/builtins.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

const ISSUER = "http://127.0.0.1:1/dev-idp";
const AT = new Date("2026-01-02T03:04:05.000Z");

/** As a JSON store writes it, and as the schema would have it: equal only if the record is its own projection. */
function expectProjection(record: SessionRecord): void {
  expect(JSON.stringify(record)).toBe(JSON.stringify(sessionRecordSchema.parse(record)));
}

/** A principal with its keys in another order than the schema's, and a field the schema does not keep. */
function principal(): Principal {
  const claims = { preferred_username: "alice", repository: "acme/ehr-reports", email: "alice@example.test" };
  return {
    expiresAt: 1_900_000_000,
    tokenId: "jti-1",
    claims,
    groups: ["phi-approvers"],
    audience: ["phigate"],
    key: principalKey(ISSUER, "alice"),
    subject: "alice",
    issuer: ISSUER,
    rawToken: "not kept",
  } as Principal;
}

/** A decision with every optional field, nested keys out of order and fields the record does not keep. */
function decision(): Decision {
  return {
    outcome: "allow",
    reasons: ["granted to nightly-report"],
    rules: ["grants", "bulk-phi"],
    policy: { digest: "a".repeat(64), name: "demo", loadedFrom: "policy/demo.yaml" },
    matchedPrincipal: "nightly-report",
    limits: { timeoutMs: 10_000, maxRows: 10_000, maxPlannerCost: 1e6 },
    estimatedCost: 123.5,
    estimatedRows: 40,
    windowRows: 300,
    rowBudget: { weight: 2, action: "require_approval", rule: "bulk-phi", rows: 1000, note: "dropped" },
    occurrences: { "public.patients": 2 },
    phiTables: ["public.patients"],
    extra: "dropped",
  } as Decision;
}

let analyzer: { analyze(sql: string): Promise<AnalyzedStatement> };

beforeAll(async () => {
  analyzer = await createStatementAnalyzer({ loadCatalog: async () => ddlCatalog(EHR_SCHEMA_SQL) });
});

async function built(sql: string): Promise<SessionRecord> {
  const analyzed = await analyzer.analyze(sql);
  return newSessionRecord({
    sessionId: newSessionId(AT),
    status: "running",
    at: AT,
    context: {
      principal: principal(),
      client: { userAgent: "vitest", ip: "127.0.0.1", port: 5 } as RequestContext["client"],
      idempotencyKey: "retry-1",
    },
    request: { sql, params: [7, "x"], purpose: "report", dryRun: false },
    parameterKey: new Uint8Array(32),
    classification: analyzed.classification,
    catalog: analyzed.catalog ?? null,
    decision: decision(),
    masking: { plan: [{ column: "ssn", position: 1, rule: "public.patients.ssn", strategy: "redact" }] },
    matchContext: { devIssuer: ISSUER },
  });
}

const STATEMENTS = [
  "SELECT id, ssn FROM patients WHERE id = $1 AND last_name <> $2",
  "WITH recent AS (SELECT patient_id, count(*) AS n FROM encounters GROUP BY patient_id) SELECT p.id, upper(p.last_name), r.n FROM patients p JOIN recent r ON r.patient_id = p.id LIMIT 10",
  "SELECT p.* FROM patients p WHERE p.id IN (SELECT patient_id FROM encounters WHERE department = $1) OFFSET $2",
];

describe("session records as built", () => {
  it.each(STATEMENTS)("are their own schema projection from the first version: %s", async (sql) => {
    const record = await built(sql);
    expectProjection(record);
    expect(record.principal).not.toHaveProperty("rawToken");
    expect(record.client).not.toHaveProperty("port");
    expect(record.decision.rowBudget).toEqual({
      rows: 1000,
      rule: "bulk-phi",
      action: "require_approval",
      weight: 2,
    });
  });

  it("stay their own projection through the transitions the gateway makes", async () => {
    const first = await built(STATEMENTS[0] ?? "");
    const completed = transition(first, "completed", new Date(AT.getTime() + 5), {
      execution: {
        startedAt: AT.toISOString(),
        finishedAt: new Date(AT.getTime() + 5).toISOString(),
        durationMs: 5,
        rowCount: 1,
        truncated: false,
      },
      result: {
        columns: [
          { name: "ssn", type: "text", masking: { rule: "public.patients.ssn", strategy: "redact" } },
        ],
        rowCount: 1,
        truncated: false,
        delivery: "inline",
        object: { key: "results/x.json", sha256: "b".repeat(64), size: 10, contentType: "application/json" },
      },
      masking: { plan: first.masking?.plan ?? [], applied: { rows: 1, withheld: 0, "masked.redact": 1 } },
    });
    expectProjection(completed);
    const budgeted = transition(
      first,
      "pending_approval",
      AT,
      { decision: { ...first.decision, outcome: "require_approval", reasons: ["over budget"] } },
      "over budget",
    );
    expectProjection({
      ...budgeted,
      approval: {
        id: "apr_1",
        expiresAt: AT.toISOString(),
        quorum: 1,
        binding: "c".repeat(64),
        estimatedRows: 40,
      },
    });
    expectProjection(
      transition(first, "failed", AT, { error: { code: "interrupted", message: "stopped", status: 503 } }),
    );
  });

  it("would be caught out of shape: a key out of the schema's order, or one it strips", async () => {
    const record = await built(STATEMENTS[0] ?? "");
    const { windowRows, estimatedCost, ...rest } = record.decision;
    const reordered = { ...record, decision: { ...rest, estimatedCost, windowRows } };
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(sessionRecordSchema.parse(reordered)));
    const widened = { ...record, client: { ...record.client, port: 5 } };
    expect(JSON.stringify(widened)).not.toBe(JSON.stringify(sessionRecordSchema.parse(widened)));
  });
});
