// Policy files: the demo policy loads; invalid files fail loudly naming the offending path; matching is exact.

import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ConfigurationError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { loadPolicyFile, parsePolicy } from "#shared/policy/load.ts";
import { matchesClaims } from "#shared/policy/match.ts";

const base = `
version: 1
name: t
issuers: { dev: dev-idp, gh: "https://token.actions.githubusercontent.com" }
principals:
  - id: job
    match: { issuer: [gh, dev], sub: "repo:acme/*:ref:refs/heads/main", repository_id: "42" }
    grants: [{ tables: [public.patients] }]
`;

function principal(overrides: Partial<Principal> = {}): Principal {
  return {
    issuer: "https://token.actions.githubusercontent.com",
    subject: "repo:acme/ehr-reports:ref:refs/heads/main",
    key: "k",
    audience: ["phigate"],
    groups: [],
    claims: { repository_id: "42" },
    expiresAt: 0,
    ...overrides,
  };
}

describe("policy loading", () => {
  it("loads the demo policy with a digest of its exact bytes", async () => {
    const loaded = await loadPolicyFile("policy/demo.yaml");
    expect(loaded.document.name).toBe("demo");
    expect(loaded.digest).toMatch(/^[0-9a-f]{64}$/);
    const again = parsePolicy(`${await readFile("policy/demo.yaml", "utf8")}\n`, "x");
    expect(again.digest).not.toBe(loaded.digest);
  });

  it.each([
    ["not yaml: [", /invalid YAML/],
    ["version: 2\nname: t", /version/],
    [base.replace("id: job", "id: Job!"), /principals\.0\.id/],
    [base.replace("tables: [public.patients]", "tables: [patients]"), /principals\.0\.grants\.0\.tables\.0/],
    [
      base.replace("issuer: [gh, dev]", "issuer: [nope]"),
      /principals\.0\.match\.issuer: unknown issuer alias nope/,
    ],
    [base.replace("issuer: [gh, dev], ", ""), /principals\.0\.match\.issuer/],
    [`${base}    surprise: 1\n`, /principals\.0/],
    [
      `${base}  - id: job\n    match: { issuer: gh, sub: x }\n    grants: [{ tables: [public.x] }]\n`,
      /duplicate id job/,
    ],
  ])("refuses %#", (text, message) => {
    expect(() => parsePolicy(text, "p.yaml")).toThrow(ConfigurationError);
    expect(() => parsePolicy(text, "p.yaml")).toThrow(message);
  });
});

describe("claim matching", () => {
  const policy = parsePolicy(base, "t").document;
  const match = policy.principals[0]?.match;
  if (match === undefined) throw new Error("fixture");
  const context = { devIssuer: "http://127.0.0.1:8787/dev-idp" };

  it("matches issuer, glob subject and exact claims together", () => {
    expect(matchesClaims(match, principal(), policy, context)).toBe(true);
    expect(matchesClaims(match, principal({ issuer: context.devIssuer }), policy, context)).toBe(true);
  });

  it("refuses another issuer, another subject or a missing claim", () => {
    expect(matchesClaims(match, principal({ issuer: "https://evil.test" }), policy, context)).toBe(false);
    expect(
      matchesClaims(match, principal({ subject: "repo:acme/x:ref:refs/heads/dev" }), policy, context),
    ).toBe(false);
    expect(
      matchesClaims(match, principal({ subject: "repo:acme/x:ref:refs/heads/main-evil" }), policy, context),
    ).toBe(false);
    expect(matchesClaims(match, principal({ claims: {} }), policy, context)).toBe(false);
  });

  it("never matches the dev IdP alias when the dev IdP is off", () => {
    expect(
      matchesClaims(match, principal({ issuer: context.devIssuer }), policy, { devIssuer: undefined }),
    ).toBe(false);
  });
});

describe("policy JSON Schema", () => {
  it("is committed exactly as generated from the zod schema (regenerate: npx phigate policy schema > policy/policy.schema.json)", async () => {
    const { policyJsonSchemaText } = await import("#shared/policy/json-schema.ts");
    expect(await readFile("policy/policy.schema.json", "utf8")).toBe(policyJsonSchemaText());
  });
});
