// Planner-cost admission holds for statements that look up protected values: the cost (the generic plan's) is asked, never skipped.

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

let policy: LoadedPolicy;
let catalog: Catalog;

beforeAll(async () => {
  await loadSqlParser();
  catalog = ddlCatalog(EHR_SCHEMA_SQL);
  policy = parsePolicy(
    await demoPolicyWith([
      ["  statementTimeoutMs: 5000\n", "  statementTimeoutMs: 5000\n  maxPlannerCost: 100000\n"],
    ]),
    "cost-limited",
  );
});

describe("planner-cost admission with a protected lookup", () => {
  it("refuses a costly statement whose only lookup constrains nothing, asking the cost", async () => {
    let asked = 0;
    const { decision } = await decideStatement({
      policy,
      context: { devIssuer: undefined },
      principal: NIGHTLY,
      classification: classify(
        parseStatement(
          "SELECT count(*) FROM patients a, patients b WHERE NOT EXISTS (SELECT 1 FROM patients c WHERE c.mrn = 'nope') LIMIT 1",
        ),
        catalog,
      ),
      purpose: null,
      estimateRows: async () => 1,
      windowRows: async () => 0,
      estimateCost: async () => {
        asked++;
        return 1e6;
      },
    });
    expect(decision.outcome).toBe("deny");
    expect(decision.reasons.join(" ")).toMatch(
      /planner estimates a cost over the limit 100000; refused before it runs/,
    );
    expect(asked).toBe(1);
    // The refusal is an answer about the planner's statistics: it names the PHI tables its charge goes to.
    expect(decision.phiTables).toContain("public.patients");
    expect(decision.estimatedCost).toBe(1e6);
  });
});
