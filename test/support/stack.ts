// The CDK stack as the infrastructure tests read it: synthesized once into a temporary folder, with lookups of its
// resources, logical ids and per-function IAM statements.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { createPhigateApp, type PhigateAppOptions } from "#infra/cdk/phigate-app.ts";
import type { PhigateStack } from "#infra/cdk/stack.ts";

/** The approver sign-in settings a synthesized stack needs (an OIDC client whose secret lives in Secrets Manager). */
export const APPROVER_CONTEXT = {
  approverIssuer: "https://login.example.org",
  approverClientId: "phigate-approvals",
  approverAuthorizationEndpoint: "https://login.example.org/oauth2/authorize",
  approverTokenEndpoint: "https://login.example.org/oauth2/token",
  approverClientSecretArn: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:approver-client-AbCdEf",
  nightlyEvidenceAt: "01:05",
};

export type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
export type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/** A statement's actions, sorted (none for no statement). */
export const actionsOf = (statement: Statement | undefined): string[] =>
  statement === undefined ? [] : ([] as string[]).concat(statement.Action).sort();

/**
 * One stack under test. `synthesize` (in `beforeAll`) builds it; `remove` (in `afterAll`) deletes its folder. The
 * lookups are bound, so a test file can take them apart once at its top.
 */
export class StackUnderTest {
  private built: { app: App; stack: PhigateStack; template: Template; outdir: string } | undefined;
  private assembly: string | undefined;

  /** `options`: createPhigateApp's besides the folder (`nag: false` leaves the rule packs out). */
  constructor(private readonly options: Omit<PhigateAppOptions, "outdir">) {}

  async synthesize(): Promise<void> {
    const outdir = mkdtempSync(join(tmpdir(), "phigate-cdk-"));
    const { app, stack } = await createPhigateApp({ ...this.options, outdir });
    this.built = { app, stack, template: Template.fromStack(stack), outdir };
  }

  remove(): void {
    if (this.built !== undefined) rmSync(this.built.outdir, { recursive: true, force: true });
  }

  private get current() {
    if (this.built === undefined) throw new Error("the stack is not synthesized yet");
    return this.built;
  }

  get stack(): PhigateStack {
    return this.current.stack;
  }

  get template(): Template {
    return this.current.template;
  }

  /** The cloud assembly's folder (bundled assets and all), synthesized on first use. */
  get assemblyDir(): string {
    this.assembly ??= this.current.app.synth().directory;
    return this.assembly;
  }

  /** Resources of a CloudFormation type, by logical id. */
  readonly resources = (type: string): [string, Resource][] =>
    Object.entries(this.template.findResources(type)) as [string, Resource][];

  /** The logical id of a construct's CloudFormation resource. */
  readonly logicalId = (construct: { node: { defaultChild?: unknown } }): string =>
    this.stack.getLogicalId(construct.node.defaultChild as never);

  /** Every statement of a function's managed policy. */
  readonly statementsOf = (functionId: string): Statement[] => {
    const policy = this.template.findResources("AWS::IAM::ManagedPolicy")[
      this.logicalId(this.stack.fn(functionId).policy)
    ] as Resource;
    return (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
  };
}
