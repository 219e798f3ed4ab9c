// The Lambda REQUEST authorizer in front of the API (context `allowedClaims`): token verified, claims required.

import { join } from "node:path";
import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { Effect, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Architecture, type CfnFunction } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { EdgeAuthorizerConfig } from "#infra/aws/edge-authorizer.ts";
import {
  ESM_BANNER,
  FUNCTION_RUNTIME,
  UNBUNDLED_CREDENTIAL_PROVIDERS,
} from "#infra/cdk/constructs/gateway-function.ts";

/** The authorizer function's id (`PHIGATE_FUNCTION_ID`) and entry. */
export const EDGE_AUTHORIZER_FUNCTION_ID = "edge-authorizer";
export const EDGE_AUTHORIZER_ENTRY = "functions/edge-authorizer.ts";

/**
 * How long API Gateway keeps an answer, keyed on the Authorization header: no longer than a GitHub Actions token lives
 * (about five minutes), so a cached "yes" never outlives its token by more than the time the functions' own expiry
 * check (they verify every token again) already refuses.
 */
export const EDGE_AUTHORIZER_CACHE_SECONDS = 300;

/** What the authorizer is built from. */
export interface EdgeAuthorizerProps {
  readonly projectRoot: string;
  readonly config: EdgeAuthorizerConfig;
  readonly logsKey: IKey;
  readonly reservedConcurrency: number;
}

/**
 * A function with its own role (logging only: it fetches the issuer's public keys over HTTPS and calls no AWS API) and
 * the HTTP API authorizer over it: payload 2.0, simple responses, identity source the Authorization header.
 */
export class EdgeAuthorizer extends Construct {
  readonly function: NodejsFunction;
  readonly authorizer: HttpLambdaAuthorizer;

  constructor(scope: Construct, id: string, props: EdgeAuthorizerProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, "Logs", {
      encryptionKey: props.logsKey,
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "phigate edge authorizer: logging only",
    });
    const policy = new ManagedPolicy(this, "Policy", {
      description: "phigate edge authorizer: its own log group and X-Ray",
      roles: [role],
      statements: [
        new PolicyStatement({
          sid: "OwnLogGroup",
          effect: Effect.ALLOW,
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resources: [logGroup.logGroupArn],
        }),
        new PolicyStatement({
          sid: "Tracing",
          effect: Effect.ALLOW,
          actions: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
          resources: ["*"],
        }),
      ],
    });
    this.function = new NodejsFunction(this, "Function", {
      entry: join(props.projectRoot, EDGE_AUTHORIZER_ENTRY),
      handler: "handler",
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(10),
      reservedConcurrentExecutions: props.reservedConcurrency,
      role,
      logGroup,
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, "package-lock.json"),
      description: "phigate: verifies bearer tokens and requires the allowed claims (HTTP API authorizer)",
      environment: {
        PHIGATE_FUNCTION_ID: EDGE_AUTHORIZER_FUNCTION_ID,
        PHIGATE_EDGE_AUTHORIZER: JSON.stringify(props.config),
      },
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
    this.authorizer = new HttpLambdaAuthorizer("Edge", this.function, {
      identitySource: ["$request.header.Authorization"],
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      resultsCacheTtl: Duration.seconds(EDGE_AUTHORIZER_CACHE_SECONDS),
    });
    Validations.of(policy).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions; this statement holds those two actions only.",
    });
    Validations.of(this.function).acknowledge(
      {
        id: "HIPAA.Security-LambdaDLQ",
        reason:
          "API Gateway invokes the authorizer synchronously and refuses the request on an error; nothing is queued.",
      },
      {
        id: "HIPAA.Security-LambdaInsideVPC",
        reason:
          "It fetches only the issuer's public keys over HTTPS and calls no AWS API; a VPC would need a NAT for that fetch and add no isolation.",
      },
    );
  }
}
