// Least privilege: the exact IAM statements a function's capabilities call for, nothing broader.

import { Stack, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Effect, type ManagedPolicy, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { IConstruct } from "constructs";
import type { FunctionCapabilities } from "#shared/adapters/aws/capabilities.ts";

/** The resources a function may be granted. */
export interface GrantTargets {
  readonly sessions: ITable;
  readonly results: IBucket;
  readonly dataKey: IKey;
  readonly keyMaterial: ISecret;
  readonly database: {
    readonly clusterArn: string;
    readonly secretArn: string;
    readonly secretKeyArns: readonly string[];
  };
}

/** Object keys the functions read and write in the results bucket (`shared/sessions/run-statement.ts`). */
export const RESULTS_PREFIX = "results/";

/** Adds the statements for `capabilities` to `policy`; `scope` receives the one justified wildcard acknowledgment. */
export function grantCapabilities(
  scope: IConstruct,
  policy: ManagedPolicy,
  capabilities: FunctionCapabilities,
  targets: GrantTargets,
): void {
  const write = capabilities.sessions === "write";
  policy.addStatements(
    new PolicyStatement({
      sid: "SessionTable",
      effect: Effect.ALLOW,
      actions: write ? ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] : ["dynamodb:GetItem"],
      resources: [targets.sessions.tableArn],
      conditions: {
        "ForAllValues:StringLike": {
          "dynamodb:LeadingKeys": write ? ["session#*", "chain#*", "idem#*"] : ["session#*"],
        },
      },
    }),
  );
  const objectArn = targets.results.arnForObjects(`${RESULTS_PREFIX}*`);
  policy.addStatements(
    new PolicyStatement({
      sid: "ResultObjects",
      effect: Effect.ALLOW,
      actions:
        capabilities.results === "write"
          ? ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
          : ["s3:GetObject"],
      resources: [objectArn],
    }),
  );
  policy.addStatements(
    new PolicyStatement({
      sid: "DataKey",
      effect: Effect.ALLOW,
      actions: write
        ? ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
        : ["kms:Decrypt", "kms:DescribeKey"],
      resources: [targets.dataKey.keyArn],
    }),
  );
  if (capabilities.keys) {
    policy.addStatements(
      new PolicyStatement({
        sid: "KeyMaterial",
        effect: Effect.ALLOW,
        actions: ["secretsmanager:GetSecretValue"],
        resources: [targets.keyMaterial.secretArn],
      }),
    );
  }
  if (capabilities.database) {
    policy.addStatements(
      new PolicyStatement({
        sid: "DataApi",
        effect: Effect.ALLOW,
        actions: ["rds-data:BeginTransaction", "rds-data:ExecuteStatement", "rds-data:RollbackTransaction"],
        resources: [targets.database.clusterArn],
      }),
    );
    policy.addStatements(
      new PolicyStatement({
        sid: "DatabaseSecret",
        effect: Effect.ALLOW,
        actions: ["secretsmanager:GetSecretValue"],
        resources: [targets.database.secretArn],
      }),
    );
    const keyArns = targets.database.secretKeyArns.filter((arn) => arn !== targets.dataKey.keyArn);
    if (keyArns.length > 0) {
      policy.addStatements(
        new PolicyStatement({
          sid: "DatabaseSecretKey",
          effect: Effect.ALLOW,
          actions: ["kms:Decrypt"],
          resources: keyArns,
        }),
      );
    }
  }
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${Stack.of(scope).getLogicalId(
      targets.results.node.defaultChild as never,
    )}.Arn>/${RESULTS_PREFIX}*]`,
    reason:
      "Object-level S3 actions need an object ARN pattern; this one is limited to the results/ prefix of the " +
      "results bucket, whose keys are generated per session by the gateway.",
  });
}
