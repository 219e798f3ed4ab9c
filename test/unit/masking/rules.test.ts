// Policy schemas of masking: defaults, the demo policy's YAML, and what a policy may not say.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { detectorConfigSchema } from "#shared/masking/detector-rules.ts";
import { columnRuleSchema, maskingPolicySchema } from "#shared/masking/rules.ts";

/** The masking section of the demo policy the gateway ships with. */
const DEMO_MASKING: unknown = (parse(readFileSync("policy/demo.yaml", "utf8")) as { masking: unknown })
  .masking;

describe("maskingPolicySchema", () => {
  it("parses the demo policy's masking section with defaults applied", () => {
    const policy = maskingPolicySchema.parse(DEMO_MASKING);
    expect(policy.rules["public.patients.ssn"]).toEqual({
      strategy: "redact",
      replacement: "[REDACTED]",
      lookup: "approval",
    });
    expect(policy.rules["public.patients.phone"]).toEqual({ strategy: "redact", replacement: "[REDACTED]" });
    expect(policy.rules["public.patients.mrn"]).toEqual({
      strategy: "tokenize",
      prefix: "mrn",
      normalize: [],
      lookup: "allow",
      type: "mrn",
    });
    expect(policy.detectors.columns).toEqual(["public.encounters.notes"]);
    expect(policy.detectors.mrnPattern).toBe("MRN-\\d{7}");
  });

  it("defaults to strictest transforms, denied whole rows, no rules and the pattern-free detectors", () => {
    const policy = maskingPolicySchema.parse({});
    expect(policy.onTransform).toBe("strictest");
    expect(policy.wholeRow).toBe("deny");
    expect(policy.rules).toEqual({});
    expect(policy.detectors.kinds).toEqual(["ssn", "phone", "email", "date"]);
  });

  it("rejects column keys that would never match the lineage (not three parts, upper case)", () => {
    for (const key of [
      "patients.ssn",
      "public.Patients.ssn",
      "public.patients.SSN",
      "a.b.c.d",
      "public..ssn",
    ]) {
      const result = maskingPolicySchema.safeParse({ rules: { [key]: { strategy: "nullify" } } });
      expect(result.success, key).toBe(false);
    }
  });

  it("accepts only deny for whole rows", () => {
    expect(maskingPolicySchema.safeParse({ wholeRow: "allow" }).success).toBe(false);
  });
});

describe("columnRuleSchema", () => {
  it.each([
    [{ strategy: "hash" }],
    [{ strategy: "redact", extra: 1 }],
    [{ strategy: "partial", keepLast: -1 }],
    [{ strategy: "partial", keepLast: 1.5 }],
    [{ strategy: "partial", maskChar: "0" }],
    [{ strategy: "partial", maskChar: "**" }],
    [{ strategy: "tokenize", prefix: "Bad Prefix" }],
    [{ strategy: "tokenize", normalize: ["soundex"] }],
    [{ strategy: "generalize", to: "decade" }],
    [{ strategy: "generalize" }],
    [{ strategy: "redact", replacement: "" }],
  ])("rejects %j", (rule) => {
    expect(columnRuleSchema.safeParse(rule).success).toBe(false);
  });
});

describe("detectorConfigSchema", () => {
  it("needs an MRN pattern when the mrn detector is on", () => {
    expect(detectorConfigSchema.safeParse({ kinds: ["mrn"] }).success).toBe(false);
  });

  it("rejects MRN patterns that could backtrack catastrophically or match nothing", () => {
    for (const mrnPattern of [
      "(a+)+",
      "MRN-\\d+",
      "\\d*",
      "(?:x|x){1,40}",
      "MRN-(\\d)\\1",
      "(?=MRN)\\w{3}",
    ]) {
      const result = detectorConfigSchema.safeParse({ kinds: ["mrn"], mrnPattern });
      expect(result.success, mrnPattern).toBe(false);
    }
  });

  it("keeps replacements per kind short and non-empty", () => {
    expect(detectorConfigSchema.safeParse({ replacements: { ssn: "" } }).success).toBe(false);
    expect(detectorConfigSchema.safeParse({ replacements: { ssn: "x".repeat(33) } }).success).toBe(false);
    expect(detectorConfigSchema.parse({ replacements: { ssn: "<ssn>" } }).replacements.ssn).toBe("<ssn>");
  });
});
