// Builds the CDK app: settings from context, the stack, and the AwsSolutions + HIPAA Security rule packs.

import { fileURLToPath } from "node:url";
import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, HIPAASecurityChecks } from "cdk-nag";
import { type FunctionDefinition, loadFunctions } from "#infra/aws/functions.ts";
import { readSettings } from "#infra/cdk/settings.ts";
import { PhigateStack } from "#infra/cdk/stack.ts";

/** The repository root (infra/cdk/ is two levels below it). */
export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Feature flags the stack relies on (set here so `cdk synth` and the tests build the same thing). */
export const FEATURE_FLAGS: Readonly<Record<string, boolean>> = {
  /** Server access logs are admitted by a bucket policy (ACLs stay disabled on the log bucket). */
  "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
};

/** Options of the app (tests pass context and an output directory). */
export interface PhigateAppOptions extends AppProps {
  readonly stackName?: string;
  /** Register the rule packs so synthesis fails on any unacknowledged finding (default true). */
  readonly nag?: boolean;
  /** The functions to deploy (default: `loadFunctions()`). */
  readonly functions?: readonly FunctionDefinition[];
}

/**
 * Creates the app with its one stack; its functions are read from the core's declarations (routes, workflow tasks,
 * jobs), unless the options name them.
 */
export async function createPhigateApp(
  options: PhigateAppOptions = {},
): Promise<{ app: App; stack: PhigateStack }> {
  const functions = options.functions ?? (await loadFunctions());
  const app = new App({ ...options, context: { ...FEATURE_FLAGS, ...options.context } });
  const settings = readSettings((key) => app.node.tryGetContext(key));
  const stack = new PhigateStack(app, options.stackName ?? "Phigate", {
    settings,
    projectRoot: PROJECT_ROOT,
    functions,
    description: "phigate: PHI access gateway (HTTP API, Lambda, Data API, DynamoDB, S3 Object Lock, KMS)",
  });
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new HIPAASecurityChecks(app));
  }
  return { app, stack };
}
