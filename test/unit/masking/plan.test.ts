// The masking plan from hand-made lineage: copies, transforms, whole rows, JSON builders, several sources, detectors.
import { describe, expect, it } from "vitest";
import { MaskingFailedError } from "#shared/errors.ts";
import { type MaskingDenial, type MaskingPlan, planMasking } from "#shared/masking/plan.ts";
import { columnRuleSchema } from "#shared/masking/rules.ts";
import { mergeRules } from "#shared/masking/strictness.ts";
import type { OutputColumnLineage } from "#shared/sql/types.ts";
import { col, copy, demoMasking, derived, policy, tab } from "./fixtures.ts";

function allow(outputs: OutputColumnLineage[], p = policy()): MaskingPlan {
  const plan = planMasking(outputs, undefined, p);
  if (plan.decision !== "allow") throw new Error(`denied: ${plan.reasons.join(" ")}`);
  return plan;
}

function deny(outputs: OutputColumnLineage[], p = policy()): MaskingDenial {
  const plan = planMasking(outputs, undefined, p);
  if (plan.decision !== "deny") throw new Error("allowed");
  return plan;
}

describe("planMasking", () => {
  it("gives a copied protected column its rule and leaves other columns alone", () => {
    const plan = allow([copy(0, "id", col("patients", "id")), copy(1, "ssn", col("patients", "ssn"))]);
    expect(plan.columns).toEqual([
      { position: 0, name: "id", rule: null, strategy: null, detectors: [], spec: null },
      {
        position: 1,
        name: "ssn",
        rule: "public.patients.ssn",
        strategy: "partial",
        detectors: [],
        spec: { strategy: "partial", keepFirst: 0, keepLast: 4, maskChar: "*" },
      },
    ]);
    expect(plan.summary).toEqual([
      { column: "ssn", position: 1, rule: "public.patients.ssn", strategy: "partial" },
    ]);
  });

  it("follows aliases: the lineage's source decides, not the output name", () => {
    const plan = allow([
      copy(0, "x", col("patients", "mrn")),
      copy(1, "ssn", col("encounters", "department")),
    ]);
    expect(plan.columns.map((c) => c.strategy)).toEqual(["tokenize", null]);
  });

  it("nulls a transformed protected value under onTransform: strictest", () => {
    const plan = allow([
      derived(0, "upper", ["function"], [col("patients", "last_name")]),
      derived(1, "right", ["function"], [col("patients", "ssn")]),
      derived(2, "extract", ["function"], [col("patients", "dob")]),
      derived(3, "count", ["aggregate"], [col("patients", "mrn")]),
      derived(4, "case", ["case"], [col("patients", "ssn"), col("patients", "id")]),
    ]);
    expect(plan.columns).toHaveLength(5);
    for (const c of plan.columns) expect(c.strategy).toBe("nullify");
    expect(plan.columns[0]?.rule).toBe("derived:public.patients.last_name");
    expect(plan.columns[4]?.rule).toBe("derived:public.patients.ssn");
  });

  it("denies a transformed protected value under onTransform: deny, naming column and source", () => {
    const result = deny(
      [
        copy(0, "id", col("patients", "id")),
        derived(1, "initial", ["function"], [col("patients", "first_name")]),
      ],
      policy({ onTransform: "deny" }),
    );
    expect(result.reasons).toHaveLength(1);
    expect(result.reasons[0]).toContain('"initial"');
    expect(result.reasons[0]).toContain("public.patients.first_name");
    expect(result.reasons[0]).toContain("function");
  });

  it("leaves transforms of unprotected columns alone", () => {
    const plan = allow([
      derived(0, "count", ["aggregate"], []),
      derived(1, "lower", ["function"], [col("encounters", "department")]),
    ]);
    expect(plan.columns.map((c) => c.strategy)).toEqual([null, null]);
    expect(plan.summary).toEqual([]);
  });

  it("denies whole rows of a table with protected columns, naming the table", () => {
    const result = deny([
      derived(0, "p", ["whole_row"], [], [tab("patients")]),
      derived(1, "row_to_json", ["json_xml", "whole_row"], [], [tab("patients")]),
    ]);
    expect(result.reasons).toHaveLength(2);
    for (const r of result.reasons) expect(r).toContain("public.patients");
  });

  it("allows whole rows of a table without protected columns, with detectors for a detector table", () => {
    const plan = allow([
      derived(0, "m", ["whole_row"], [], [tab("medications")]),
      derived(1, "e", ["whole_row"], [], [tab("encounters")]),
    ]);
    expect(plan.columns[0]?.strategy).toBeNull();
    expect(plan.columns[1]).toMatchObject({ strategy: "detect", rule: "derived:public.encounters.*" });
    expect(plan.columns[1]?.detectors).toEqual(["ssn", "phone", "email", "mrn", "date"]);
  });

  it("denies a JSON/XML value built from a protected column even when transforms would be nulled", () => {
    const result = deny([derived(0, "doc", ["json_xml"], [col("patients", "ssn"), col("patients", "id")])]);
    expect(result.reasons[0]).toContain("JSON/XML");
    expect(result.reasons[0]).toContain("public.patients.ssn");
  });

  it("runs the detectors over a JSON value built from a detector column", () => {
    const plan = allow([derived(0, "doc", ["json_xml"], [col("encounters", "notes")])]);
    expect(plan.columns[0]).toMatchObject({ strategy: "detect", rule: "derived:public.encounters.notes" });
  });

  it("takes the strictest rule of a copy from several columns (a set operation)", () => {
    const plan = allow([
      copy(0, "v", col("patients", "ssn"), col("patients", "mrn"), col("patients", "city")),
    ]);
    expect(plan.columns[0]).toMatchObject({
      rule: "public.patients.mrn+public.patients.ssn",
      strategy: "tokenize",
      spec: { strategy: "tokenize", prefix: "mrn", normalize: [] },
    });
  });

  it("runs detectors on copies of detector columns and on values that carry their text as it was", () => {
    const notes = col("encounters", "notes");
    const plan = allow([
      copy(0, "notes", notes),
      derived(1, "string_agg", ["aggregate"], [notes]),
      derived(2, "json_agg", ["aggregate", "json_xml"], [notes]),
      derived(3, "coalesce", ["coalesce", "subquery"], [notes]),
    ]);
    expect(plan.columns[0]).toMatchObject({ rule: "public.encounters.notes", strategy: "detect" });
    expect(plan.columns[1]).toMatchObject({ rule: "derived:public.encounters.notes", strategy: "detect" });
    expect(plan.summary.map((s) => s.strategy)).toEqual(["detect", "detect", "detect", "detect"]);
  });

  it("nulls (or denies) a detector column rewritten by a function, cast, operator or CASE", () => {
    const notes = col("encounters", "notes");
    const rewritten = [
      derived(0, "reverse", ["function"], [notes]),
      derived(1, "notes", ["cast"], [notes]),
      derived(2, "?column?", ["operator"], [notes]),
      derived(3, "case", ["case"], [notes]),
      derived(4, "string_agg", ["function", "aggregate"], [notes]),
      derived(5, "e", ["whole_row", "function"], [], [tab("encounters")]),
    ];
    const plan = allow(rewritten);
    expect(plan.columns).toHaveLength(rewritten.length);
    for (const column of plan.columns) {
      expect(column).toMatchObject({ strategy: "nullify", detectors: [], spec: { strategy: "nullify" } });
      expect(column.rule).toMatch(/^derived:public\.encounters\./);
    }
    const denied = deny(rewritten.slice(0, 1), policy({ onTransform: "deny" }));
    expect(denied.reasons[0]).toMatch(/"reverse".*public\.encounters\.notes.*function/);
  });

  it("runs detectors before a partial rule on a detector column, and not after rules that leave no text", () => {
    const rules = {
      ...demoMasking.rules,
      "public.encounters.notes": columnRuleSchema.parse({ strategy: "partial", keepFirst: 20 }),
    };
    const withPartial = allow([copy(0, "notes", col("encounters", "notes"))], policy({ rules }));
    expect(withPartial.columns[0]).toMatchObject({
      strategy: "partial",
      detectors: ["ssn", "phone", "email", "mrn", "date"],
    });
    const tokenized = allow(
      [copy(0, "notes", col("encounters", "notes"))],
      policy({
        rules: { ...rules, "public.encounters.notes": columnRuleSchema.parse({ strategy: "tokenize" }) },
      }),
    );
    expect(tokenized.columns[0]).toMatchObject({ strategy: "tokenize", detectors: [] });
  });

  it("applies per-principal overrides only where they are stricter", () => {
    const rules = mergeRules(demoMasking.rules, {
      "public.patients.ssn": columnRuleSchema.parse({ strategy: "nullify" }),
      "public.patients.phone": columnRuleSchema.parse({ strategy: "partial", keepLast: 4 }),
    });
    const plan = allow(
      [copy(0, "ssn", col("patients", "ssn")), copy(1, "phone", col("patients", "phone"))],
      policy({ rules }),
    );
    expect(plan.columns.map((c) => c.strategy)).toEqual(["nullify", "redact"]);
  });

  it("does not confuse same-named tables in other schemas, and leaves constants alone", () => {
    const plan = allow([
      copy(0, "ssn", col("patients", "ssn", "archive")),
      { position: 1, name: "?column?", kind: "constant", sources: [], wholeRows: [], transforms: [] },
    ]);
    expect(plan.columns.map((c) => c.strategy)).toEqual([null, null]);
  });

  it("collects every reason before denying", () => {
    const result = deny(
      [
        derived(0, "p", ["whole_row"], [], [tab("patients")]),
        derived(1, "f", ["function"], [col("patients", "dob")]),
        derived(2, "j", ["json_xml"], [col("patients", "email")]),
      ],
      policy({ onTransform: "deny" }),
    );
    expect(result.reasons).toHaveLength(4);
  });

  it("fails closed on lineage that does not describe the result", () => {
    expect(() => planMasking([copy(1, "ssn", col("patients", "ssn"))], undefined, policy())).toThrow(
      MaskingFailedError,
    );
    expect(() => planMasking([copy(0, "ssn", col("patients", "ssn"))], [], policy())).toThrow(
      MaskingFailedError,
    );
  });
});
