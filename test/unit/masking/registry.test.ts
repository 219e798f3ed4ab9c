// The strategy registry: one entry per strategy, its own rank, its schema parsing its own name, its cell function.

import { describe, expect, it } from "vitest";
import { compileCellMasker, maskedType } from "#shared/masking/cell-maskers.ts";
import { columnRuleSchema } from "#shared/masking/rules.ts";
import { type MaskingStrategy, STRATEGIES } from "#shared/masking/strategies.ts";
import type { CellValue } from "#shared/sql/types.ts";

const NAMES = Object.keys(STRATEGIES) as MaskingStrategy[];
/** The smallest rule of a strategy (only `generalize` has a required parameter). */
const minimal = (name: MaskingStrategy) =>
  name === "generalize" ? { strategy: name, to: "age" } : { strategy: name };

describe("strategy registry", () => {
  it("gives every strategy its own rank", () => {
    const ranks = NAMES.map((name) => STRATEGIES[name].rank);
    expect(new Set(ranks).size).toBe(NAMES.length);
  });

  it("keys every strategy by the name its schema parses, and the policy's rule schema accepts exactly these", () => {
    for (const name of NAMES) {
      expect(STRATEGIES[name].schema.parse(minimal(name)).strategy).toBe(name);
      expect(columnRuleSchema.safeParse(minimal(name)).success).toBe(true);
    }
    expect(columnRuleSchema.safeParse({ strategy: "shuffle" }).success).toBe(false);
  });

  it("compiles each strategy's cell function through the registry, and reports text output where it says so", () => {
    const column = { name: "n", type: "int4", typeOid: 23 };
    const ctx = {
      generalize: { currentYear: 2026 },
      tokenizer: () => (value: string) => `tok_${value.length}`,
      detectors: undefined,
      detectorHits: { ssn: 0, phone: 0, email: 0, mrn: 0, date: 0 },
      withheld: { count: 0 },
    };
    for (const name of NAMES) {
      const spec = columnRuleSchema.parse(minimal(name));
      const planned = { position: 0, name: "n", rule: "public.t.n", strategy: name, detectors: [], spec };
      const mask = compileCellMasker(planned, column, ctx);
      expect(mask).not.toBeNull();
      const masked = mask?.(42 as CellValue);
      expect(masked).not.toBe(42);
      expect(maskedType(column, planned).type).toBe(STRATEGIES[name].outputsText ? "text" : "int4");
    }
  });
});
