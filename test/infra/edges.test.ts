// The stack's edges: the JWT authorizer by default, the Lambda authorizer with `allowedClaims`; and the evidence-build
// workflow (budget, retries, catch, bounded concurrency) with the request route granted only to start it.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Template } from "aws-cdk-lib/assertions";
import { Template as Templates } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPhigateApp } from "#infra/cdk/phigate-app.ts";

const NO_BUNDLING = { "aws:cdk:bundling-stacks": [] };
const dirs: string[] = [];
let plain: Template;
let guarded: Template;

async function synth(context: Record<string, unknown>): Promise<Template> {
  const outdir = mkdtempSync(join(tmpdir(), "phigate-edges-"));
  dirs.push(outdir);
  const { stack } = await createPhigateApp({ outdir, context: { ...NO_BUNDLING, ...context }, nag: false });
  return Templates.fromStack(stack);
}

type Resource = { Properties: Record<string, unknown> };
const resources = (t: Template, type: string): Resource[] =>
  Object.values(t.findResources(type)) as Resource[];

function policyOf(t: Template, functionId: string): { Action: string | string[]; Resource: unknown }[] {
  const fn = Object.entries(t.findResources("AWS::Lambda::Function")).find(
    ([, r]) =>
      (r as Resource).Properties.Environment !== undefined &&
      ((r as Resource).Properties.Environment as { Variables: Record<string, string> }).Variables
        .PHIGATE_FUNCTION_ID === functionId,
  );
  if (fn === undefined) throw new Error(`no function ${functionId}`);
  const role = ((fn[1] as Resource).Properties.Role as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0];
  const policy = resources(t, "AWS::IAM::ManagedPolicy").find((p) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role),
  );
  if (policy === undefined) throw new Error(`no policy for ${functionId}`);
  return (
    policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }
  ).Statement;
}

beforeAll(async () => {
  plain = await synth({});
  guarded = await synth({ allowedClaims: JSON.stringify({ repository_owner_id: ["4242", "77"] }) });
}, 180_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("the edge", () => {
  it("keeps the JWT authorizer without allowedClaims", () => {
    const authorizers = resources(plain, "AWS::ApiGatewayV2::Authorizer");
    expect(authorizers.map((a) => a.Properties.AuthorizerType)).toEqual(["JWT"]);
    const routes = resources(plain, "AWS::ApiGatewayV2::Route").map((r) => r.Properties.AuthorizationType);
    expect(routes).not.toContain("CUSTOM");
  });

  it("puts a Lambda REQUEST authorizer (payload 2.0, simple responses, cached ≤ a token's life) in front with allowedClaims", () => {
    const authorizers = resources(guarded, "AWS::ApiGatewayV2::Authorizer");
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]?.Properties).toMatchObject({
      AuthorizerType: "REQUEST",
      AuthorizerPayloadFormatVersion: "2.0",
      EnableSimpleResponses: true,
      IdentitySource: ["$request.header.Authorization"],
    });
    expect(Number(authorizers[0]?.Properties.AuthorizerResultTtlInSeconds)).toBeGreaterThan(0);
    expect(Number(authorizers[0]?.Properties.AuthorizerResultTtlInSeconds)).toBeLessThanOrEqual(300);
    const kinds = new Set(
      resources(guarded, "AWS::ApiGatewayV2::Route").map((r) => r.Properties.AuthorizationType),
    );
    expect([...kinds].sort()).toEqual(["CUSTOM", "NONE"]);
    const fn = resources(guarded, "AWS::Lambda::Function").find(
      (f) =>
        (f.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables
          ?.PHIGATE_FUNCTION_ID === "edge-authorizer",
    );
    const config = JSON.parse(
      ((fn as Resource).Properties.Environment as { Variables: Record<string, string> }).Variables
        .PHIGATE_EDGE_AUTHORIZER ?? "{}",
    );
    expect(config).toMatchObject({
      issuer: "https://token.actions.githubusercontent.com",
      audience: "phigate",
      allowedClaims: { repository_owner_id: ["4242", "77"] },
    });
    expect(resources(plain, "AWS::Lambda::Function").length + 1).toBe(
      resources(guarded, "AWS::Lambda::Function").length,
    );
  });

  it("refuses allowedClaims that are not a claim → values object", async () => {
    await expect(synth({ allowedClaims: "repository_owner_id=4242" })).rejects.toThrow(/allowedClaims/);
    await expect(synth({ allowedClaims: JSON.stringify({ repository_owner_id: [] }) })).rejects.toThrow(
      /allowedClaims/,
    );
  });
});

describe("evidence bundles as a job", () => {
  it("builds each bundle in its own execution: 900 s budget, retries of invocations that never ran, a catch that marks it failed", () => {
    const machine = resources(plain, "AWS::StepFunctions::StateMachine").find((m) =>
      JSON.stringify(m.Properties.StateMachineName).includes("evidence-build"),
    );
    const definition = JSON.stringify(machine?.Properties.DefinitionString);
    expect(definition).toContain('\\"TimeoutSeconds\\":900');
    expect(definition).toContain("Lambda.TooManyRequestsException");
    expect(definition).toContain('\\"Next\\":\\"MarkFailed\\"');
    expect(definition).toContain('\\"action\\":\\"fail\\"');
  });

  it("bounds concurrent builds and gives the request route only the start", () => {
    const job = resources(plain, "AWS::Lambda::Function").find(
      (f) =>
        (f.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables
          ?.PHIGATE_FUNCTION_ID === "evidence-build",
    );
    expect(job?.Properties).toMatchObject({ Timeout: 900, ReservedConcurrentExecutions: 2 });
    const actions = policyOf(plain, "post-evidence-bundle").flatMap((s) => [s.Action].flat());
    expect(actions).toContain("states:StartExecution");
    expect(actions).not.toContain("kms:Sign");
    expect(actions.some((a) => a.startsWith("s3:"))).toBe(false);
    const status = policyOf(plain, "get-evidence-bundle").flatMap((s) => [s.Action].flat());
    expect(status.filter((a) => a.startsWith("dynamodb:"))).toEqual(["dynamodb:GetItem"]);
  });
});
