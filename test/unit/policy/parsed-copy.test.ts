// The policy's parsed copy (read at a Lambda start instead of the YAML): faithful, bound to the exact text, validated.

import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parsedPolicyCopy } from "#infra/cdk/parsed-policy.ts";
import { ConfigurationError } from "#shared/errors.ts";
import { parsePolicy } from "#shared/policy/load.ts";
import { PARSED_POLICY_FORMAT, policyFromParsedCopy } from "#shared/policy/parsed-copy.ts";

const demo = await readFile("policy/demo.yaml", "utf8");

describe("the policy's parsed copy", () => {
  it("gives the same validated document, digest and text as parsing the YAML", () => {
    const fromCopy = policyFromParsedCopy(demo, parsedPolicyCopy(demo, "demo"), "policy.yaml");
    const fromYaml = parsePolicy(demo, "policy.yaml");
    expect(fromCopy.document).toEqual(fromYaml.document);
    expect(fromCopy.digest).toBe(fromYaml.digest);
    expect(fromCopy.text).toBe(demo);
  });

  it("refuses a copy made from other text, even one that parses to the same data", () => {
    const other = `${demo}\n# a comment changes the digest, not the data\n`;
    expect(parsePolicy(other, "x").document).toEqual(parsePolicy(demo, "x").document);
    expect(() => policyFromParsedCopy(demo, parsedPolicyCopy(other, "other"), "policy.yaml")).toThrow(
      /not made from this policy text/,
    );
    const renamed = demo.replace(/^name: .*$/m, "name: renamed");
    expect(renamed).not.toBe(demo);
    expect(() => policyFromParsedCopy(demo, parsedPolicyCopy(renamed, "renamed"), "policy.yaml")).toThrow(
      ConfigurationError,
    );
  });

  it("validates the copy's data with the policy schema and cross-references", () => {
    const copy = JSON.parse(parsedPolicyCopy(demo, "demo")) as { data: Record<string, unknown> };
    const withData = (data: unknown) => JSON.stringify({ ...copy, data });
    expect(() => policyFromParsedCopy(demo, withData({ ...copy.data, version: 2 }), "policy.yaml")).toThrow(
      /policy\.yaml: version/,
    );
    const principals = copy.data.principals as { id: string }[];
    expect(() =>
      policyFromParsedCopy(demo, withData({ ...copy.data, principals: [...principals, principals[0]] }), "p"),
    ).toThrow(/duplicate id/);
  });

  it("refuses a copy that is not JSON or not of its format", () => {
    const copy = JSON.parse(parsedPolicyCopy(demo, "demo")) as Record<string, unknown>;
    expect(() => policyFromParsedCopy(demo, "{", "p")).toThrow(/not JSON/);
    expect(() => policyFromParsedCopy(demo, "null", "p")).toThrow(PARSED_POLICY_FORMAT);
    expect(() => policyFromParsedCopy(demo, JSON.stringify({ ...copy, format: "other/1" }), "p")).toThrow(
      PARSED_POLICY_FORMAT,
    );
  });

  it("is not made from a policy with values JSON cannot carry, nor from an invalid one", () => {
    expect(() => parsedPolicyCopy(`${demo}\nextra: .inf\n`, "p")).toThrow(/JSON cannot carry/);
    expect(() => parsedPolicyCopy(`${demo}\nextra: 1\n`, "p")).toThrow(ConfigurationError);
  });
});
