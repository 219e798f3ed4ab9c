// The evidence-build state machine: one execution per requested bundle, with retries, a 15-minute budget and a catch.

import { Arn, ArnFormat, Aws, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Effect, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { stackSuffix } from "#infra/cdk/stack-suffix.ts";
import { EVIDENCE_BUILD_BUDGET_SECONDS } from "#shared/evidence/evidence-jobs.ts";

/** The machine's name, known before it exists (the request route is told its ARN) and new per deployment. */
function evidenceBuildMachineName(): string {
  return `${Aws.STACK_NAME}-evidence-build-${stackSuffix()}`;
}

/** The machine's ARN, formatted from its name (what the request route is granted and told). */
export function evidenceBuildMachineArn(scope: Construct): string {
  return Arn.format(
    {
      service: "states",
      resource: "stateMachine",
      resourceName: evidenceBuildMachineName(),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    Stack.of(scope),
  );
}

/** Errors of an invocation that never ran the function: repeating it cannot write anything twice. */
const NOT_RUN = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException"];

/**
 * The definition. `Build` invokes the job with `{action: "build", bundleId}` under a 900 s budget; an invocation
 * throttled by the job's reserved concurrency (the bound on concurrent builds) is retried for about an hour, one that
 * never reached the function three times; anything else (the function's own error or timeout, the budget) is caught
 * and `MarkFailed` invokes the job with `{action: "fail", bundleId, error}`, which marks the bundle failed.
 */
export function evidenceBuildDefinition(functionArn: string): object {
  const invoke = (payload: Record<string, unknown>) => ({
    Type: "Task",
    Resource: "arn:aws:states:::lambda:invoke",
    Parameters: { FunctionName: functionArn, Payload: payload },
  });
  return {
    Comment: "phigate: build one evidence bundle an auditor requested",
    StartAt: "Build",
    States: {
      Build: {
        ...invoke({ action: "build", "bundleId.$": "$.bundleId" }),
        TimeoutSeconds: EVIDENCE_BUILD_BUDGET_SECONDS,
        ResultPath: null,
        Retry: [
          {
            ErrorEquals: ["Lambda.TooManyRequestsException"],
            IntervalSeconds: 20,
            MaxAttempts: 10,
            BackoffRate: 1.5,
          },
          { ErrorEquals: NOT_RUN, IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 },
        ],
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "MarkFailed" }],
        End: true,
      },
      MarkFailed: {
        ...invoke({ action: "fail", "bundleId.$": "$.bundleId", "error.$": "$.failure.Error" }),
        TimeoutSeconds: 60,
        ResultPath: null,
        Retry: [
          {
            ErrorEquals: ["Lambda.TooManyRequestsException", ...NOT_RUN],
            IntervalSeconds: 5,
            MaxAttempts: 6,
            BackoffRate: 2,
          },
        ],
        Next: "Failed",
      },
      Failed: { Type: "Fail", Error: "EvidenceBuildFailed", Cause: "the bundle was marked failed" },
    },
  };
}

/** What the machine is built from. */
export interface EvidenceBuildMachineProps {
  /** The `evidence-build` job's function. */
  readonly function: IFunction;
  readonly logsKey: IKey;
}

/**
 * A standard workflow per requested bundle. Logging is level ALL without execution data (ids only would be logged, but
 * nothing is needed beyond transitions and errors); X-Ray is on; its role invokes the job's function only.
 */
export class EvidenceBuildMachine extends Construct {
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;
  readonly role: Role;
  /** The role's only policy (customer-managed, not inline). */
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: EvidenceBuildMachineProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, "Logs", {
      logGroupName: `/aws/vendedlogs/states/${evidenceBuildMachineName()}`,
      encryptionKey: props.logsKey,
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stack = Stack.of(this);
    this.role = new Role(this, "Role", {
      description: "phigate evidence-build state machine: invoke the build job, deliver logs, trace",
      assumedBy: new ServicePrincipal("states.amazonaws.com", {
        conditions: {
          ArnLike: { "aws:SourceArn": evidenceBuildMachineArn(this) },
          StringEquals: { "aws:SourceAccount": stack.account },
        },
      }),
    });
    this.policy = new ManagedPolicy(this, "Policy", {
      description: "phigate evidence-build state machine: the build job, log delivery and X-Ray only",
      roles: [this.role],
      statements: [
        new PolicyStatement({
          sid: "InvokeEvidenceBuild",
          effect: Effect.ALLOW,
          actions: ["lambda:InvokeFunction"],
          resources: [props.function.functionArn],
        }),
        new PolicyStatement({
          sid: "LogDelivery",
          effect: Effect.ALLOW,
          actions: [
            "logs:CreateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:GetLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:UpdateLogDelivery",
          ],
          resources: ["*"],
        }),
        new PolicyStatement({
          sid: "Tracing",
          effect: Effect.ALLOW,
          actions: [
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "xray:PutTelemetryRecords",
            "xray:PutTraceSegments",
          ],
          resources: ["*"],
        }),
      ],
    });
    this.stateMachine = new StateMachine(this, "StateMachine", {
      role: this.role.withoutPolicyUpdates(),
      stateMachineName: evidenceBuildMachineName(),
      stateMachineType: StateMachineType.STANDARD,
      comment: "phigate: build one evidence bundle an auditor requested",
      definitionBody: DefinitionBody.fromString(
        stack.toJsonString(evidenceBuildDefinition(props.function.functionArn)),
      ),
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine.node.addDependency(this.policy);
    Validations.of(this.policy).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Step Functions log delivery to CloudWatch Logs and X-Ray accept no resource-level permissions; invocation " +
        "is granted on the build job's exact ARN.",
    });
  }
}
