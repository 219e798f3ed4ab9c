// The planner's estimate never answers for protected values: not asked for lookups, shown as an order of magnitude.

import { beforeAll, describe, expect, it } from "vitest";
import { type LoadedPolicy, loadPolicyFile } from "#shared/policy/load.ts";
import { costCeiling, estimateMagnitude } from "#shared/policy/risk.ts";
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

async function decide(sql: string, estimate: () => Promise<number>) {
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
  it("asks the planner about a statement that looks up a protected value", async () => {
    let asked = 0;
    const { decision } = await decide(
      "SELECT 1 FROM patients p, generate_series(1, 1000000) g WHERE p.first_name = 'Nora'",
      async () => {
        asked++;
        return 100_000_000;
      },
    );
    // A lookup restricts only what it constrains: the cross join with a million rows is a bulk read.
    expect(asked).toBe(1);
    expect(decision.outcome).toBe("require_approval");
    expect(decision.reasons.join(" ")).toMatch(/bulk-phi-read/);
  });

  it("never shows the estimate, not even its order of magnitude (the twenty-second outside attack)", async () => {
    const { decision } = await decide(
      "SELECT e.id FROM encounters e, generate_series(1, 3) g ORDER BY e.id, g",
      async () => 123_456,
    );
    expect(decision.outcome).toBe("require_approval");
    expect(decision.reasons.join(" ")).toContain("the planner estimates more than 20000 rows");
    expect(decision.reasons.join(" ")).not.toMatch(/123456|10\^/);
    // Stacked scans of one patient's rows raise the estimate to a power: whatever it is, the reasons read alike.
    const stacked = Array.from({ length: 55 }, (_, i) => `encounters e${i}`).join(", ");
    const pinned = Array.from({ length: 55 }, (_, i) => `e${i}.patient_id = 7`).join(" AND ");
    const reasons = async (estimate: number) =>
      (await decide(`SELECT e0.id FROM ${stacked} WHERE ${pinned}`, async () => estimate)).decision.reasons;
    expect(await reasons(6 ** 55)).toEqual(await reasons(62 ** 55));
  });

  it("decides by the estimate's order of magnitude only: a weight tuned row by row cannot read the exact figure (the twentieth outside attack)", async () => {
    // Each constant column adds a PHI row to the weight; the decision flips where estimate × weight passes 1,000.
    const decisions = async (estimate: number) => {
      const outcomes: string[] = [];
      for (const n of [0, 5, 9, 12, 15, 17, 20, 30, 50, 99]) {
        const columns = Array.from({ length: n }, (_, i) => `, 0 AS z${i}`).join("");
        const { decision } = await decide(
          `SELECT x.id${columns} FROM encounters x WHERE x.patient_id = 7`,
          async () => estimate,
        );
        outcomes.push(decision.outcome);
      }
      return outcomes;
    };
    // 45 and 58 encounters (two patients of the most-common-values list) decide alike at every weight.
    const heavy = await decisions(45);
    expect(heavy).toContain("allow");
    expect(heavy).toContain("require_approval");
    expect(await decisions(58)).toEqual(heavy);
    expect(await decisions(99)).toEqual(heavy);
    // Another order of magnitude decides otherwise.
    expect(await decisions(6)).not.toEqual(heavy);
    expect([
      estimateMagnitude(0.5),
      estimateMagnitude(6),
      estimateMagnitude(45),
      estimateMagnitude(58),
    ]).toEqual([1, 10, 100, 100]);
    expect(estimateMagnitude(Number.NaN)).toBe(Number.POSITIVE_INFINITY);
  });

  it("limits the planner's cost by the power of ten at or above it", () => {
    expect([0, 1, 2, 10, 11, 99_999, 100_000, 100_001].map(costCeiling)).toEqual([
      1, 1, 10, 10, 100, 100_000, 100_000, 1_000_000,
    ]);
    expect(costCeiling(Number.NaN)).toBe(Number.POSITIVE_INFINITY);
  });
});
