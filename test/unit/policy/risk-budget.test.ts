// The PHI row budget a decision carries: set when a rule let a PHI read through as restricted or under its window, the smallest over the rules, absent otherwise.

import { beforeAll, describe, expect, it } from "vitest";
import { type LoadedPolicy, parsePolicy } from "#shared/policy/load.ts";
import { decideStatement } from "#shared/sessions/decide.ts";
import { classify } from "#shared/sql/classify.ts";
import { loadSqlParser, parseStatement } from "#shared/sql/parser.ts";
import type { Catalog } from "#shared/sql/types.ts";
import { demoPolicyWith } from "#test/support/approvals.ts";
import { ddlCatalog } from "#test/support/builtins.ts";
import { NIGHTLY_PRINCIPAL } from "#test/support/nightly-principal.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

const NIGHTLY = NIGHTLY_PRINCIPAL;

let demo: LoadedPolicy;
let withDeny: LoadedPolicy;
let catalog: Catalog;

async function decide(policy: LoadedPolicy, sql: string, estimate: number, window = 0) {
  const { decision } = await decideStatement({
    policy,
    context: { devIssuer: undefined },
    principal: NIGHTLY,
    classification: classify(parseStatement(sql), catalog),
    purpose: null,
    estimateRows: async () => estimate,
    windowRows: async () => window,
  });
  return decision;
}

beforeAll(async () => {
  await loadSqlParser();
  catalog = ddlCatalog(EHR_SCHEMA_SQL);
  demo = parsePolicy(await demoPolicyWith([]), "demo");
  withDeny = parsePolicy(
    await demoPolicyWith([
      [
        "    - id: many-phi-columns\n",
        `    - id: no-bulk-at-all
      description: never more than 500 PHI rows
      action: deny
      when:
        phiTableWithoutPredicate: true
        restrictedRowsAtMost: 500
    - id: many-phi-columns
`,
      ],
    ]),
    "with-deny",
  );
});

describe("the PHI row budget of a decision", () => {
  it("is the rule's threshold for a read the planner judged restricted, less the caller's window", async () => {
    const sql = "SELECT id, ssn FROM patients WHERE id % 1 = 0";
    const fresh = await decide(demo, sql, 50);
    expect(fresh.outcome).toBe("allow");
    expect(fresh.rowBudget).toEqual({ rows: 1000, rule: "bulk-phi-read", action: "require_approval" });
    const sliced = await decide(demo, sql, 50, 700);
    expect(sliced.rowBudget).toEqual({ rows: 300, rule: "bulk-phi-read", action: "require_approval" });
  });

  it("holds for a read with a protected lookup anywhere: the value-blind estimate decides early, the budget holds", async () => {
    const sql =
      "SELECT p.id, p.ssn FROM patients p WHERE NOT EXISTS (SELECT 1 FROM patients q WHERE q.mrn = 'nope')";
    // The lookup no longer restricts the statement by itself: a large estimate needs the approval at once ...
    expect((await decide(demo, sql, 1_000_000)).outcome).toBe("require_approval");
    // ... and a small (mis)estimate runs under the budget.
    const decision = await decide(demo, sql, 1);
    expect(decision.outcome).toBe("allow");
    expect(decision.rowBudget).toMatchObject({ rows: 1000, rule: "bulk-phi-read" });
  });

  it("is the smallest over the rules, with the action of the rule that gives it", async () => {
    const decision = await decide(withDeny, "SELECT id, ssn FROM patients WHERE id % 1 = 0", 50);
    expect(decision.rowBudget).toEqual({ rows: 500, rule: "no-bulk-at-all", action: "deny" });
  });

  it("is absent when no PHI table is read, or when the statement needs approval anyway", async () => {
    // A count over a PHI table is a fact about it (an oracle per patient in slices): it has a budget too.
    const counted = await decide(demo, "SELECT count(*) FROM patients WHERE id % 1 = 0", 50);
    expect(counted.outcome).toBe("allow");
    expect(counted.rowBudget).toMatchObject({ rows: 1000, rule: "bulk-phi-read" });
    const none = await decide(demo, "SELECT 1 AS x", 1);
    expect(none.outcome).toBe("allow");
    expect(none.rowBudget).toBeUndefined();
    const bulk = await decide(demo, "SELECT id, ssn FROM patients WHERE id > 0", 10_000);
    expect(bulk.outcome).toBe("require_approval");
    expect(bulk.rowBudget).toBeUndefined();
  });
});
