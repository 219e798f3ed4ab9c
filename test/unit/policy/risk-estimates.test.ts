// The planner's estimate never answers for protected values: not asked for lookups, shown as an order of magnitude.

import { beforeAll, describe, expect, it } from "vitest";
import { type LoadedPolicy, loadPolicyFile } from "#shared/policy/load.ts";
import { orderOfMagnitude } from "#shared/policy/risk.ts";
import { decideStatement } from "#shared/sessions/decide.ts";
import { classify } from "#shared/sql/classify.ts";
import { loadSqlParser, parseStatement } from "#shared/sql/parser.ts";
import type { Catalog } from "#shared/sql/types.ts";
import { ddlCatalog } from "#test/support/builtins.ts";
import { NIGHTLY_PRINCIPAL } from "#test/support/nightly-principal.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

const NIGHTLY = NIGHTLY_PRINCIPAL;

let policy: LoadedPolicy;
let catalog: Catalog;

async function decide(sql: string, estimate: (hidden: ReadonlySet<string>) => Promise<number>) {
  return decideStatement({
    policy,
    context: { devIssuer: undefined },
    principal: NIGHTLY,
    classification: classify(parseStatement(sql), catalog),
    purpose: null,
    estimateRows: estimate,
  });
}

beforeAll(async () => {
  await loadSqlParser();
  catalog = ddlCatalog(EHR_SCHEMA_SQL);
  policy = await loadPolicyFile("policy/demo.yaml");
});

describe("risk rules and the planner's estimate", () => {
  it("asks the planner about a statement that looks up a protected value with the values hidden from it", async () => {
    const hiddenAsked: string[][] = [];
    const { decision } = await decide(
      "SELECT 1 FROM patients p, generate_series(1, 1000000) g WHERE p.first_name = 'Nora'",
      async (hidden) => {
        hiddenAsked.push([...hidden].sort());
        return 100_000_000;
      },
    );
    // A lookup restricts only what it constrains: the cross join with a million rows is a bulk read.
    expect(hiddenAsked).toEqual([["public.patients.first_name"]]);
    expect(decision.outcome).toBe("require_approval");
    expect(decision.reasons.join(" ")).toMatch(/bulk-phi-read/);
  });

  it("shows an estimate as its order of magnitude only", async () => {
    const { decision } = await decide(
      "SELECT e.id FROM encounters e, generate_series(1, 3) g ORDER BY e.id, g",
      async () => 123_456,
    );
    expect(decision.outcome).toBe("require_approval");
    expect(decision.reasons.join(" ")).toContain("about 10^5 rows");
    expect(decision.reasons.join(" ")).not.toContain("123456");
  });

  it("rounds on the logarithm", () => {
    expect([0, 1, 3, 4, 31_622, 31_623, 2e9].map(orderOfMagnitude)).toEqual([
      "1",
      "10^0",
      "10^0",
      "10^1",
      "10^4",
      "10^5",
      "10^9",
    ]);
  });
});
