// cdk-nag: AwsSolutions and HIPAA Security report nothing unacknowledged, and every acknowledgment says why.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks, HIPAASecurityChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPhigateApp } from "#infra/cdk/phigate-app.ts";
import type { PhigateStack } from "#infra/cdk/stack.ts";

/** Bundling is skipped here (the stack test bundles for real): these checks read the construct tree only. */
const NO_BUNDLING = { "aws:cdk:bundling-stacks": [] };

const MODES = {
  "a created cluster": {},
  "an existing cluster": {
    existingClusterArn: "arn:aws:rds:eu-west-1:111111111111:cluster:ehr",
    existingSecretArn: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ehr-readonly-AbCdEf",
    existingSecretKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/1111",
  },
  "approver sign-in, subscriptions and a custom domain": {
    publicUrl: "https://phigate.example.org",
    approverEmails: "alice@example.org,bob@example.org",
    approverIssuer: "https://login.example.org",
    approverClientId: "phigate-approvals",
    approverAuthorizationEndpoint: "https://login.example.org/oauth2/authorize",
    approverTokenEndpoint: "https://login.example.org/oauth2/token",
    approverClientSecretArn: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:approver-AbCdEf",
    approverClientSecretKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/2222",
  },
  "claims required at the edge (Lambda authorizer)": {
    allowedClaims: JSON.stringify({ repository_owner_id: ["4242"] }),
  },
};

const stacks = new Map<string, PhigateStack>();
const dirs: string[] = [];

function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ""),
          reason,
        })),
      )
      .filter((ack) => /^(AwsSolutions|HIPAA\.Security)-/.test(ack.id)),
  );
}

beforeAll(async () => {
  for (const [mode, context] of Object.entries(MODES)) {
    const outdir = mkdtempSync(join(tmpdir(), "phigate-nag-"));
    dirs.push(outdir);
    const { stack } = await createPhigateApp({ outdir, context: { ...NO_BUNDLING, ...context }, nag: false });
    stacks.set(mode, stack);
  }
}, 120_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.each(Object.keys(MODES))("cdk-nag with %s", (mode) => {
  const stackOf = () => stacks.get(mode) as PhigateStack;

  it("has no unacknowledged AwsSolutions finding (errors or warnings)", () => {
    const report = new AwsSolutionsChecks().validateScope(stackOf());
    expect(
      report.violations.map(
        (v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
      ),
    ).toEqual([]);
  });

  it("has no unacknowledged HIPAA Security finding (errors or warnings)", () => {
    const report = new HIPAASecurityChecks().validateScope(stackOf());
    expect(
      report.violations.map(
        (v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
      ),
    ).toEqual([]);
  });

  it("gives every acknowledgment a specific written reason", () => {
    const acks = acknowledgments(stackOf());
    expect(acks.length).toBeGreaterThan(0);
    console.info(
      `${mode}: ${acks.length} acknowledgments, ${new Set(acks.map((a) => a.id)).size} distinct rules`,
    );
    for (const ack of acks) {
      expect(ack.id).toMatch(/^(AwsSolutions|HIPAA\.Security)-[A-Za-z0-9]+(\[.+\])?$/);
      expect(ack.reason.length, `${ack.id} on ${ack.path}`).toBeGreaterThanOrEqual(60);
      expect(ack.reason).not.toMatch(/^(n\/?a|todo|tbd|not needed|false positive)\b/i);
    }
  });

  it("synthesizes with the rule packs registered (an unacknowledged finding would make synthesis throw)", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "phigate-nag-synth-"));
    dirs.push(outdir);
    const { app, stack } = await createPhigateApp({
      outdir,
      context: { ...NO_BUNDLING, ...MODES[mode as keyof typeof MODES] },
    });
    expect(() => app.synth()).not.toThrow();
    expect(Template.fromStack(stack).findResources("AWS::Lambda::Function")).not.toEqual({});
  });
});

describe("existing cluster mode", () => {
  it("creates no VPC or cluster and grants the Data API on the given cluster and secret only", () => {
    const stack = stacks.get("an existing cluster") as PhigateStack;
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::RDS::DBCluster", 0);
    template.resourceCountIs("AWS::EC2::VPC", 0);
    const fn = stack.functions.get("post-query");
    const policy = template.findResources("AWS::IAM::ManagedPolicy")[
      stack.getLogicalId(fn?.policy.node.defaultChild as never)
    ] as { Properties: { PolicyDocument: { Statement: { Sid: string; Resource: unknown }[] } } };
    const bySid = new Map(policy.Properties.PolicyDocument.Statement.map((s) => [s.Sid, s.Resource]));
    expect(bySid.get("DataApi")).toBe(MODES["an existing cluster"].existingClusterArn);
    expect(bySid.get("DatabaseSecret")).toBe(MODES["an existing cluster"].existingSecretArn);
    expect(bySid.get("DatabaseSecretKey")).toBe(MODES["an existing cluster"].existingSecretKeyArn);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: {
          PHIGATE_DB_CLUSTER_ARN: MODES["an existing cluster"].existingClusterArn,
          PHIGATE_DB_SECRET_ARN: MODES["an existing cluster"].existingSecretArn,
        },
      },
    });
  });

  it("refuses half of the approver sign-in keys", async () => {
    await expect(
      createPhigateApp({ context: { ...NO_BUNDLING, approverIssuer: "https://login.example.org" } }),
    ).rejects.toThrow(/go together/);
  });

  it("refuses half of the existing-cluster pair", async () => {
    await expect(
      createPhigateApp({
        context: { ...NO_BUNDLING, existingClusterArn: MODES["an existing cluster"].existingClusterArn },
      }),
    ).rejects.toThrow(/go together/);
  });
});
