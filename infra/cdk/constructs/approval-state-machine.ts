// The approval state machine: APPROVAL_STATES rendered to ASL with the task functions' ARNs, logged and traced.

import { Arn, ArnFormat, Aws, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Effect, ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { stackSuffix } from "#infra/cdk/stack-suffix.ts";
import { APPROVAL_STATES } from "#shared/approval/approval-workflow.ts";
import { type TaskArns, toAmazonStatesLanguage } from "#shared/approval/asl.ts";
import { TASK_NAMES, type TaskName } from "#shared/approval/workflow-description.ts";

/**
 * The state machine's name: known before it exists (so the functions can be told its ARN without a function ↔ machine
 * cycle), and new for every deployment of the stack (a retained machine of a deleted stack does not block re-creation).
 */
function approvalStateMachineName(): string {
  return `${Aws.STACK_NAME}-approval-${stackSuffix()}`;
}

/** The state machine's ARN, formatted from its name (what the functions are granted and told). */
export function approvalStateMachineArn(scope: Construct): string {
  return Arn.format(
    {
      service: "states",
      resource: "stateMachine",
      resourceName: approvalStateMachineName(),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    Stack.of(scope),
  );
}

/** What the state machine is built from. */
export interface ApprovalStateMachineProps {
  readonly taskFunctions: Readonly<Record<TaskName, IFunction>>;
  readonly logsKey: IKey;
}

/**
 * A standard workflow (waits last up to the approval's expiry, days) whose definition is exactly
 * `toAmazonStatesLanguage(APPROVAL_STATES, arns)`: plain tasks invoke their function by ARN, the callback task uses
 * `lambda:invoke.waitForTaskToken` with `TimeoutSecondsPath`/`HeartbeatSecondsPath`. Logging is level ALL with
 * execution data excluded: every state transition and error is recorded (AwsSolutions-SF1), but no input, output or
 * parameters — the callback task's parameters carry the task token, which must never reach a log. X-Ray is on.
 * The role may invoke the six task functions (exact ARNs) and nothing else besides log delivery and X-Ray.
 */
export class ApprovalStateMachine extends Construct {
  readonly stateMachine: StateMachine;
  readonly logGroup: LogGroup;
  readonly role: Role;
  /** The role's only policy (customer-managed, not inline). */
  readonly policy: ManagedPolicy;
  /** The definition as rendered (with the functions' ARN tokens). */
  readonly definition: object;

  constructor(scope: Construct, id: string, props: ApprovalStateMachineProps) {
    super(scope, id);
    const arns = Object.fromEntries(
      TASK_NAMES.map((task) => [task, props.taskFunctions[task].functionArn]),
    ) as unknown as TaskArns;
    this.definition = toAmazonStatesLanguage(APPROVAL_STATES, arns);
    this.logGroup = new LogGroup(this, "Logs", {
      logGroupName: `/aws/vendedlogs/states/${approvalStateMachineName()}`,
      encryptionKey: props.logsKey,
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stack = Stack.of(this);
    this.role = new Role(this, "Role", {
      description: "phigate approval state machine: invoke its task functions, deliver logs, trace",
      assumedBy: new ServicePrincipal("states.amazonaws.com", {
        conditions: {
          ArnLike: { "aws:SourceArn": approvalStateMachineArn(this) },
          StringEquals: { "aws:SourceAccount": stack.account },
        },
      }),
    });
    this.policy = new ManagedPolicy(this, "Policy", {
      description: "phigate approval state machine: its task functions, log delivery and X-Ray only",
      roles: [this.role],
      statements: [
        new PolicyStatement({
          sid: "InvokeApprovalTasks",
          effect: Effect.ALLOW,
          actions: ["lambda:InvokeFunction"],
          resources: TASK_NAMES.map((task) => props.taskFunctions[task].functionArn),
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
      // The construct would add the log-delivery and X-Ray statements as an inline policy: they are in `policy`.
      role: this.role.withoutPolicyUpdates(),
      stateMachineName: approvalStateMachineName(),
      stateMachineType: StateMachineType.STANDARD,
      comment: APPROVAL_STATES.comment,
      definitionBody: DefinitionBody.fromString(Stack.of(this).toJsonString(this.definition)),
      logs: { destination: this.logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine.node.addDependency(this.policy);
    Validations.of(this.policy).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Step Functions log delivery to CloudWatch Logs (CreateLogDelivery and related actions) and X-Ray " +
        "(PutTraceSegments, GetSamplingRules…) accept no resource-level permissions; task invocation is granted " +
        "on the six task functions' exact ARNs.",
    });
  }
}
