// The read-only database role the functions sign in as: its secret, and a custom resource that creates it through the
// Data API (owned cluster) and verifies it (any cluster) on every deploy, before any function can run a statement.

import { join } from "node:path";
import { CustomResource, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Effect, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Architecture, type CfnFunction } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import {
  ESM_BANNER,
  FUNCTION_RUNTIME,
  UNBUNDLED_CREDENTIAL_PROVIDERS,
} from "#infra/cdk/constructs/gateway-function.ts";

/** The role's name in PostgreSQL (the generated secret's username). */
export const READER_USERNAME = "phigate_reader";
/** The function id the custom resource's Lambda carries (the loopback run finds its bundle by it). */
export const READER_ROLE_FUNCTION_ID = "db-reader-role";
export const READER_ROLE_ENTRY = "functions/db-reader-role.ts";

/** Where the role lives. */
export interface ReaderRoleProps {
  readonly projectRoot: string;
  readonly dataKey: IKey;
  readonly logsKey: IKey;
  readonly clusterArn: string;
  readonly database: string;
  /** The master secret, when the stack owns the cluster and creates the role; absent: the role is only verified. */
  readonly master?: { readonly secretArn: string; readonly keyArns: readonly string[] } | undefined;
  /** A secret the operator made for a role they created (existing cluster, or bootstrap by hand). */
  readonly readerSecret?: { readonly secretArn: string; readonly keyArn?: string | undefined } | undefined;
  /** The role-level statement timeout (a backstop under the per-statement timeout the executor sets). */
  readonly statementTimeoutMs: number;
}

const NO_ROTATION =
  "Rotating the reader's password needs a rotation Lambda inside the isolated VPC; until then a redeploy after " +
  "changing the secret value re-applies it (the custom resource sets the role's password from the secret).";

/** The secret the functions' Data API calls sign in with, and the resource that guarantees it is read-only. */
export class ReaderRole extends Construct {
  readonly secretArn: string;
  /** KMS keys the secret is encrypted with (callers need Decrypt through Secrets Manager). */
  readonly secretKeyArns: readonly string[];
  readonly resource: CustomResource;
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: ReaderRoleProps) {
    super(scope, id);
    if (props.readerSecret !== undefined) {
      this.secretArn = props.readerSecret.secretArn;
      this.secretKeyArns = props.readerSecret.keyArn === undefined ? [] : [props.readerSecret.keyArn];
    } else {
      if (props.master === undefined)
        throw new Error("a reader role needs its own secret or the master secret");
      const secret = new Secret(this, "Credentials", {
        description: "phigate: the read-only database role the functions sign in as",
        encryptionKey: props.dataKey,
        removalPolicy: RemovalPolicy.RETAIN,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ username: READER_USERNAME }),
          generateStringKey: "password",
          passwordLength: 32,
          excludeCharacters: " %+~`#$&*()|[]{}:;<>?!'/@\"\\",
        },
      });
      Validations.of(secret).acknowledge(
        { id: "AwsSolutions-SMG4", reason: NO_ROTATION },
        { id: "HIPAA.Security-SecretsManagerRotationEnabled", reason: NO_ROTATION },
      );
      this.secretArn = secret.secretArn;
      this.secretKeyArns = [props.dataKey.keyArn];
    }
    const logGroup = new LogGroup(this, "Logs", {
      encryptionKey: props.logsKey,
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "phigate reader role custom resource: Data API on the cluster, the two secrets",
    });
    const secretArns = [this.secretArn, ...(props.master === undefined ? [] : [props.master.secretArn])];
    const keyArns = [...new Set([...this.secretKeyArns, ...(props.master?.keyArns ?? [])])];
    const policy = new ManagedPolicy(this, "Policy", {
      description: "phigate reader role custom resource: only what creating and verifying the role needs",
      roles: [role],
      statements: [
        new PolicyStatement({
          sid: "OwnLogGroup",
          effect: Effect.ALLOW,
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resources: [logGroup.logGroupArn],
        }),
        new PolicyStatement({
          sid: "DataApi",
          effect: Effect.ALLOW,
          actions: [
            "rds-data:BeginTransaction",
            "rds-data:CommitTransaction",
            "rds-data:ExecuteStatement",
            "rds-data:RollbackTransaction",
          ],
          resources: [props.clusterArn],
        }),
        new PolicyStatement({
          sid: "Secrets",
          effect: Effect.ALLOW,
          actions: ["secretsmanager:GetSecretValue"],
          resources: secretArns,
        }),
        ...(keyArns.length === 0
          ? []
          : [
              new PolicyStatement({
                sid: "SecretKeys",
                effect: Effect.ALLOW,
                actions: ["kms:Decrypt"],
                resources: keyArns,
              }),
            ]),
      ],
    });
    this.function = new NodejsFunction(this, "Function", {
      entry: join(props.projectRoot, READER_ROLE_ENTRY),
      handler: "handler",
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(5),
      reservedConcurrentExecutions: 1,
      role,
      logGroup,
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, "package-lock.json"),
      description:
        "phigate: creates and verifies the read-only database role (CloudFormation custom resource)",
      environment: { PHIGATE_FUNCTION_ID: READER_ROLE_FUNCTION_ID },
      bundling: {
        format: OutputFormat.ESM,
        target: "node24",
        mainFields: ["module", "main"],
        minify: true,
        sourceMap: false,
        bundleAwsSDK: true,
        externalModules: [...UNBUNDLED_CREDENTIAL_PROVIDERS],
        banner: ESM_BANNER,
        forceDockerBundling: false,
      },
    });
    (this.function.node.defaultChild as CfnFunction).tracingConfig = { mode: "Active" };
    this.function.node.addDependency(policy);
    this.resource = new CustomResource(this, "Resource", {
      serviceToken: this.function.functionArn,
      resourceType: "Custom::PhigateReaderRole",
      properties: {
        ClusterArn: props.clusterArn,
        Database: props.database,
        ReaderSecretArn: this.secretArn,
        ...(props.master === undefined ? {} : { MasterSecretArn: props.master.secretArn }),
        StatementTimeoutMs: String(props.statementTimeoutMs),
        Schemas: "public",
      },
    });
    Validations.of(this.function).acknowledge(
      {
        id: "HIPAA.Security-LambdaDLQ",
        reason:
          "CloudFormation invokes this custom resource synchronously and fails the deploy on an error; nothing is queued.",
      },
      {
        id: "HIPAA.Security-LambdaInsideVPC",
        reason:
          "It calls only the RDS Data API and Secrets Manager over TLS with IAM; the cluster is reachable only through the Data API.",
      },
    );
    Validations.of(policy).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "X-Ray tracing is the only wildcard-resource action of this function's role (no resource-level permissions exist).",
    });
    policy.addStatements(
      new PolicyStatement({
        sid: "Tracing",
        effect: Effect.ALLOW,
        actions: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        resources: ["*"],
      }),
    );
  }
}
