// The strictness order: the stricter rule wins, commutatively, and overrides can only tighten.
import { describe, expect, it } from "vitest";
import { columnRuleSchema } from "#shared/masking/rules.ts";
import type { ColumnRule } from "#shared/masking/strategies.ts";
import {
  mergeRules,
  STRATEGY_STRICTNESS,
  stricterRule,
  strictestRule,
  strictnessRank,
} from "#shared/masking/strictness.ts";

const rule = (input: unknown): ColumnRule => columnRuleSchema.parse(input);

const SAMPLES: ColumnRule[] = [
  rule({ strategy: "partial", keepLast: 4 }),
  rule({ strategy: "partial", keepFirst: 2, keepLast: 2, maskChar: "#" }),
  rule({ strategy: "generalize", to: "year" }),
  rule({ strategy: "generalize", to: "month" }),
  rule({ strategy: "generalize", to: "birth_month" }),
  rule({ strategy: "generalize", to: "zip3" }),
  rule({ strategy: "generalize", to: "age" }),
  rule({ strategy: "tokenize" }),
  rule({ strategy: "tokenize", prefix: "name", normalize: ["case"] }),
  rule({ strategy: "redact" }),
  rule({ strategy: "redact", replacement: "***" }),
  rule({ strategy: "nullify" }),
];

describe("stricterRule", () => {
  it("orders strategies partial < generalize < tokenize < redact < nullify", () => {
    expect(STRATEGY_STRICTNESS).toEqual(["partial", "generalize", "tokenize", "redact", "nullify"]);
    expect(stricterRule(SAMPLES[0] as ColumnRule, rule({ strategy: "tokenize" })).strategy).toBe("tokenize");
    expect(stricterRule(rule({ strategy: "redact" }), rule({ strategy: "nullify" })).strategy).toBe(
      "nullify",
    );
    expect(
      stricterRule(rule({ strategy: "generalize", to: "zip3" }), SAMPLES[0] as ColumnRule).strategy,
    ).toBe("generalize");
  });

  it("is commutative and never less strict than either side", () => {
    for (const a of SAMPLES) {
      for (const b of SAMPLES) {
        const ab = stricterRule(a, b);
        expect(ab).toEqual(stricterRule(b, a));
        expect(strictnessRank(ab.strategy)).toBeGreaterThanOrEqual(strictnessRank(a.strategy));
        expect(strictnessRank(ab.strategy)).toBeGreaterThanOrEqual(strictnessRank(b.strategy));
      }
    }
  });

  it("takes the meet of two partial rules (fewer characters kept on each side)", () => {
    expect(stricterRule(SAMPLES[0] as ColumnRule, SAMPLES[1] as ColumnRule)).toEqual({
      strategy: "partial",
      keepFirst: 0,
      keepLast: 2,
      maskChar: "*",
    });
  });

  it("coarsens dates and keeps the birth bucket; cannot combine dates with ZIPs", () => {
    expect(
      stricterRule(
        rule({ strategy: "generalize", to: "month" }),
        rule({ strategy: "generalize", to: "year" }),
      ),
    ).toEqual({ strategy: "generalize", to: "year" });
    expect(
      stricterRule(
        rule({ strategy: "generalize", to: "year" }),
        rule({ strategy: "generalize", to: "birth_month" }),
      ),
    ).toEqual({ strategy: "generalize", to: "birth_year" });
    expect(
      stricterRule(
        rule({ strategy: "generalize", to: "zip3" }),
        rule({ strategy: "generalize", to: "year" }),
      ),
    ).toEqual({ strategy: "redact", replacement: "[REDACTED]" });
  });

  it("unions tokenize normalizations and falls back to the tok prefix", () => {
    expect(
      stricterRule(
        rule({ strategy: "tokenize", prefix: "a", normalize: ["case"] }),
        rule({ strategy: "tokenize", prefix: "b", normalize: ["whitespace"] }),
      ),
    ).toEqual({ strategy: "tokenize", prefix: "tok", normalize: ["case", "whitespace"] });
  });

  it("picks the strictest of many, or null for none", () => {
    expect(strictestRule(SAMPLES)?.strategy).toBe("nullify");
    expect(strictestRule([])).toBeNull();
  });
});

describe("lookup permissions and types", () => {
  const rule = (extra: Record<string, unknown>): ColumnRule =>
    columnRuleSchema.parse({ strategy: "tokenize", ...extra });

  it("keeps the stricter lookup whichever strategy wins, and a type only both agree on", () => {
    const loose = columnRuleSchema.parse({ strategy: "redact", lookup: "allow", type: "mrn" });
    const strict = rule({ lookup: "deny", type: "mrn" });
    expect(stricterRule(loose, strict)).toMatchObject({ strategy: "redact", lookup: "deny", type: "mrn" });
    expect(stricterRule(strict, loose)).toMatchObject({ strategy: "redact", lookup: "deny", type: "mrn" });
    expect(stricterRule(rule({ lookup: "approval" }), rule({ lookup: "allow" })).lookup).toBe("approval");
    expect(stricterRule(rule({ lookup: "allow" }), rule({})).lookup).toBeUndefined();
    expect(stricterRule(rule({ type: "mrn" }), rule({ type: "person" })).type).toBeUndefined();
  });

  it("refuses an unknown lookup permission and a malformed type", () => {
    expect(() => rule({ lookup: "sometimes" })).toThrow();
    expect(() => rule({ type: "Person-Name" })).toThrow();
  });
});

describe("mergeRules", () => {
  it("lets a per-principal override tighten a default but never loosen it", () => {
    const defaults = {
      "public.patients.ssn": rule({ strategy: "partial", keepLast: 4 }),
      "public.patients.zip": rule({ strategy: "redact" }),
    };
    const overrides = {
      "public.patients.ssn": rule({ strategy: "nullify" }),
      "public.patients.zip": rule({ strategy: "partial", keepFirst: 3 }),
      "public.patients.city": rule({ strategy: "redact" }),
    };
    const merged = mergeRules(defaults, overrides);
    expect(merged["public.patients.ssn"]).toEqual({ strategy: "nullify" });
    expect(merged["public.patients.zip"]).toEqual({ strategy: "redact", replacement: "[REDACTED]" });
    expect(merged["public.patients.city"]?.strategy).toBe("redact");
    expect(mergeRules(overrides, defaults)).toEqual(merged);
  });
});
