// The approval workflow, notifications, schedules and per-function IAM of the synthesized stack (bundling skipped).

import {
  DeleteItemCommand,
  type DeleteItemCommandInput,
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import type { Template } from "aws-cdk-lib/assertions";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPEN_INDEX } from "#infra/aws/adapters/approval-item.ts";
import { DynamoCallerTurns } from "#infra/aws/adapters/dynamo-caller-turns.ts";
import { DynamoReadLedger } from "#infra/aws/adapters/dynamo-read-ledger.ts";
import { DynamoSessionStore, RUNNING_INDEX } from "#infra/aws/adapters/dynamo-session-store.ts";
import { loadFunctions } from "#infra/aws/functions.ts";
import type { PhigateStack } from "#infra/cdk/stack.ts";
import { APPROVAL_STATES } from "#shared/approval/approval-workflow.ts";
import { type TaskArns, toAmazonStatesLanguage, WAIT_FOR_TASK_TOKEN_RESOURCE } from "#shared/approval/asl.ts";
import { taskFunctionId } from "#shared/approval/tasks/task-declaration.ts";
import { TASK_NAMES } from "#shared/approval/workflow-description.ts";
import { silentLogger } from "#shared/log.ts";
import { ResolvedStack } from "#test/support/aws/template.ts";
import {
  APPROVER_CONTEXT,
  actionsOf,
  type Resource,
  StackUnderTest,
  type Statement,
} from "#test/support/stack.ts";

const CONTEXT = {
  "aws:cdk:bundling-stacks": [],
  approverEmails: "alice@example.org,bob@example.org",
  ...APPROVER_CONTEXT,
};

const ALL_FUNCTIONS = await loadFunctions();
const synth = new StackUnderTest({ context: CONTEXT, nag: false });
const { resources, logicalId, statementsOf } = synth;
let stack: PhigateStack;
let template: Template;

const fnId = (functionId: string): string => logicalId(stack.fn(functionId).function as never);
const fnArn = (functionId: string) => ({ "Fn::GetAtt": [fnId(functionId), "Arn"] });
/** The functions that read the session chain (`SessionStore.entries`): replays and evidence bundles. */
const CHAIN_READERS = ["evidence-build", "get-session-proof", "get-session-replay", "nightly-evidence"];
const DECIDERS = ["mcp", "post-query", "task-execute-approved"];

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Functions whose policy grants an action, sorted. */
function grantedTo(action: string): string[] {
  return ALL_FUNCTIONS.filter((f) => statementsOf(f.id).some((s) => actionsOf(s).includes(action)))
    .map((f) => f.id)
    .sort();
}

/** Resolves an `Fn::Join` of literals and `Fn::GetAtt [id, Arn]` into text, each ARN written `arn:<logicalId>`. */
function resolveJoin(value: unknown): string {
  const join = (value as { "Fn::Join": [string, unknown[]] })["Fn::Join"];
  return join[1]
    .map((part) => {
      if (typeof part === "string") return part;
      const att = (part as { "Fn::GetAtt"?: [string, string] })["Fn::GetAtt"];
      if (att !== undefined) return `arn:${att[0]}`;
      throw new Error(`unexpected part ${JSON.stringify(part)}`);
    })
    .join("");
}

beforeAll(async () => {
  await synth.synthesize();
  ({ stack, template } = synth);
}, 120_000);

afterAll(() => synth.remove());

describe("approval state machine", () => {
  const machine = (): Resource => {
    const id = logicalId(stack.approvalWorkflow.stateMachine);
    const entry = resources("AWS::StepFunctions::StateMachine").find(([logical]) => logical === id);
    if (entry === undefined) throw new Error("no approval state machine");
    return entry[1];
  };

  it("is exactly toAmazonStatesLanguage(APPROVAL_STATES, arns) with the synthesized task functions' ARNs", () => {
    // The approval workflow and the evidence-build job.
    expect(resources("AWS::StepFunctions::StateMachine")).toHaveLength(2);
    const definition = JSON.parse(resolveJoin(machine().Properties.DefinitionString));
    const arns = Object.fromEntries(TASK_NAMES.map((task) => [task, `arn:${fnId(taskFunctionId(task))}`]));
    expect(definition).toEqual(toAmazonStatesLanguage(APPROVAL_STATES, arns as TaskArns));
    expect(machine().Properties.StateMachineType).toBe("STANDARD");
  });

  it("waits in the callback state with waitForTaskToken, the token in the payload, timeout and heartbeat from the plan", () => {
    const definition = JSON.parse(resolveJoin(machine().Properties.DefinitionString));
    expect(definition.States.AwaitDecision).toMatchObject({
      Type: "Task",
      Resource: WAIT_FOR_TASK_TOKEN_RESOURCE,
      Parameters: {
        FunctionName: `arn:${fnId("task-notify-approvers")}`,
        Payload: { "input.$": "$", "taskToken.$": "$$.Task.Token" },
      },
      TimeoutSecondsPath: "$.wait.remainingSeconds",
      HeartbeatSecondsPath: "$.wait.heartbeatSeconds",
    });
    expect(WAIT_FOR_TASK_TOKEN_RESOURCE).toBe("arn:aws:states:::lambda:invoke.waitForTaskToken");
  });

  it("logs every event without execution data into a KMS-encrypted log group, and traces with X-Ray", () => {
    const props = machine().Properties;
    expect(props.LoggingConfiguration).toEqual({
      Destinations: [
        {
          CloudWatchLogsLogGroup: {
            LogGroupArn: { "Fn::GetAtt": [logicalId(stack.approvalWorkflow.logGroup), "Arn"] },
          },
        },
      ],
      IncludeExecutionData: false,
      Level: "ALL",
    });
    expect(props.TracingConfiguration).toEqual({ Enabled: true });
    const group = template.findResources("AWS::Logs::LogGroup")[
      logicalId(stack.approvalWorkflow.logGroup)
    ] as Resource;
    expect(group.Properties.KmsKeyId).toEqual({ "Fn::GetAtt": [logicalId(stack.keys.logs), "Arn"] });
  });

  it("has a role that may invoke exactly the six task functions, with no inline policy", () => {
    const policy = template.findResources("AWS::IAM::ManagedPolicy")[
      logicalId(stack.approvalWorkflow.policy)
    ] as Resource;
    const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const invoke = statements.find((s) => s.Sid === "InvokeApprovalTasks");
    expect(actionsOf(invoke)).toEqual(["lambda:InvokeFunction"]);
    expect(invoke?.Resource).toEqual(TASK_NAMES.map((task) => fnArn(taskFunctionId(task))));
    expect(machine().Properties.RoleArn).toEqual({
      "Fn::GetAtt": [logicalId(stack.approvalWorkflow.role), "Arn"],
    });
    expect(resources("AWS::IAM::Policy")).toEqual([]);
    expect(machine().DependsOn).toContain(logicalId(stack.approvalWorkflow.policy));
  });
});

describe("approver notifications", () => {
  it("encrypts the topic with the data key, refuses non-TLS publishing, and subscribes the context's addresses", () => {
    template.hasResourceProperties("AWS::SNS::Topic", {
      KmsMasterKeyId: { "Fn::GetAtt": [logicalId(stack.keys.data), "Arn"] },
    });
    const subscriptions = resources("AWS::SNS::Subscription").map(([, s]) => s.Properties);
    expect(subscriptions.map((s) => [s.Protocol, s.Endpoint]).sort()).toEqual([
      ["email", "alice@example.org"],
      ["email", "bob@example.org"],
    ]);
    const [[, topicPolicy] = []] = resources("AWS::SNS::TopicPolicy");
    expect(JSON.stringify(topicPolicy?.Properties)).toContain('"aws:SecureTransport":"false"');
  });
});

describe("schedules", () => {
  const rules = () => resources("AWS::Events::Rule").map(([, r]) => r.Properties);

  it("runs the keeper every minute and the nightly bundle at the configured UTC time, each on its function", () => {
    const keeper = rules().find((r) => r.ScheduleExpression === "rate(1 minute)");
    expect(keeper?.Targets).toEqual([
      expect.objectContaining({
        Arn: fnArn("approval-keeper"),
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      }),
    ]);
    const nightly = rules().find((r) => r.ScheduleExpression === "cron(5 1 * * ? *)");
    expect(nightly?.Targets).toEqual([expect.objectContaining({ Arn: fnArn("nightly-evidence") })]);
    expect(rules()).toHaveLength(2);
    const permissions = resources("AWS::Lambda::Permission")
      .map(([, p]) => p.Properties)
      .filter((p) => p.Principal === "events.amazonaws.com");
    expect(
      permissions
        .map((p) => p.FunctionName)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual(
      [fnArn("approval-keeper"), fnArn("nightly-evidence")].sort((a, b) =>
        JSON.stringify(a).localeCompare(JSON.stringify(b)),
      ),
    );
  });

  it("retries a failed nightly run twice and a keeper run never", () => {
    const configs = resources("AWS::Lambda::EventInvokeConfig").map(([, c]) => c.Properties);
    expect(configs).toContainEqual(
      expect.objectContaining({ FunctionName: { Ref: fnId("nightly-evidence") }, MaximumRetryAttempts: 2 }),
    );
    expect(configs).toContainEqual(
      expect.objectContaining({ FunctionName: { Ref: fnId("approval-keeper") }, MaximumRetryAttempts: 0 }),
    );
  });
});

describe("least privilege of the approval and evidence functions", () => {
  /** The state machine's ARN as deployed: what the functions' grants must name exactly. */
  const smArn = () => {
    const resolved = new ResolvedStack(template.toJSON() as never, {
      stackName: "Phigate",
      region: "eu-west-1",
      account: "123456789012",
    });
    const [machine] = resolved.ofType("AWS::StepFunctions::StateMachine");
    return { resolved, arn: resolved.getAtt(machine?.logicalId ?? "", "Arn") };
  };

  it("lets only the decision paths, notify-approvers and the keeper send task results, on the state machine only", () => {
    for (const action of ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]) {
      expect(grantedTo(action)).toEqual([
        "approval-keeper",
        "post-approval-decision",
        "post-approval-page",
        "task-notify-approvers",
      ]);
    }
    const { resolved, arn } = smArn();
    const signal = statementsOf("approval-keeper").find((s) => s.Sid === "SignalApproval");
    expect(resolved.resolve(signal?.Resource)).toBe(arn);
    // The two front doors that submit queries (the HTTP route and the remote MCP endpoint) start approvals.
    // The evidence route starts only the evidence-build job.
    expect(grantedTo("states:StartExecution")).toEqual(["mcp", "post-evidence-bundle", "post-query"]);
    for (const id of ["mcp", "post-query"]) {
      expect(resolved.resolve(statementsOf(id).find((s) => s.Sid === "StartApproval")?.Resource)).toBe(arn);
    }
    const build = statementsOf("post-evidence-bundle").filter((s) =>
      actionsOf(s).includes("states:StartExecution"),
    );
    expect(build.map((s) => s.Sid)).toEqual(["StartEvidenceBuild"]);
    expect(JSON.stringify(resolved.resolve(build[0]?.Resource))).toContain(
      ":stateMachine:Phigate-evidence-build-",
    );
    expect(arn).toMatch(/:stateMachine:Phigate-approval-[0-9a-f]{8}$/);
  });

  it("lets only notify-approvers publish, on the approvers' topic only", () => {
    expect(grantedTo("sns:Publish")).toEqual(["task-notify-approvers"]);
    const publish = statementsOf("task-notify-approvers").find((s) => s.Sid === "NotifyApprovers");
    expect(publish?.Resource).toEqual({ Ref: logicalId(stack.notifications.topic) });
  });

  it("lets only the bundle functions sign, with the evidence key only, and write under bundles/", () => {
    // The log sequencer signs checkpoints with the same key (its statements are checked in log-sequencer tests).
    expect(grantedTo("kms:Sign")).toEqual(["evidence-build", "log-sequencer", "nightly-evidence"]);
    for (const id of ["evidence-build", "nightly-evidence"]) {
      const statements = statementsOf(id);
      const sign = statements.find((s) => s.Sid === "SignEvidence");
      expect(actionsOf(sign)).toEqual(["kms:GetPublicKey", "kms:Sign"]);
      expect(sign?.Resource).toEqual({ "Fn::GetAtt": [logicalId(stack.keys.signing), "Arn"] });
      const bundles = statements.find((s) => s.Sid === "EvidenceBundles");
      expect(actionsOf(bundles)).toEqual(["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]);
      expect(JSON.stringify(bundles?.Resource)).toContain("/bundles/*");
      const archive = statements.find((s) => s.Sid === "PolicyArchive");
      expect(actionsOf(archive)).toEqual(["s3:GetObject"]);
      expect(JSON.stringify(archive?.Resource)).toContain("/catalogs/*");
    }
    expect(grantedTo("s3:DeleteObject")).toEqual(["evidence-build", "nightly-evidence"]);
  });

  it("lets the deciding functions archive their policy and catalog snapshots (write-once puts) and nothing else there", () => {
    for (const id of ["post-query", "task-execute-approved"]) {
      const archive = statementsOf(id).find((s) => s.Sid === "PolicyArchive");
      expect(actionsOf(archive)).toEqual(["s3:AbortMultipartUpload", "s3:PutObject"]);
      expect(JSON.stringify(archive?.Resource)).toContain("/policies/*");
      expect(JSON.stringify(archive?.Resource)).toContain("/catalogs/*");
    }
  });

  it("gives the keeper a Query on the open-approvals and running-sessions indexes, the task signals and session writes", () => {
    const statements = statementsOf("approval-keeper");
    expect(statements.map((s) => s.Sid).sort()).toEqual([
      "DataKey",
      "OpenApprovals",
      "OwnLogGroup",
      "RunningSessions",
      "SessionTable",
      "SignalApproval",
      "Tracing",
    ]);
    const running = statements.find((s) => s.Sid === "RunningSessions");
    expect(actionsOf(running)).toEqual(["dynamodb:Query"]);
    expect(running?.Resource).toEqual({
      "Fn::Join": [
        "",
        [{ "Fn::GetAtt": [logicalId(stack.storage.sessions), "Arn"] }, `/index/${RUNNING_INDEX}`],
      ],
    });
    const query = statements.find((s) => s.Sid === "OpenApprovals");
    expect(actionsOf(query)).toEqual(["dynamodb:Query"]);
    expect(query?.Resource).toEqual({
      "Fn::Join": [
        "",
        [{ "Fn::GetAtt": [logicalId(stack.storage.approvals), "Arn"] }, `/index/${OPEN_INDEX}`],
      ],
    });
  });

  it("scopes approval items to approval#* and lets plan-wait only read them", () => {
    const plan = statementsOf("task-plan-wait").find((s) => s.Sid === "ApprovalTable");
    expect(actionsOf(plan)).toEqual(["dynamodb:GetItem"]);
    expect(plan?.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["approval#*"] },
    });
    const decide = statementsOf("post-approval-decision").find((s) => s.Sid === "ApprovalTable");
    expect(actionsOf(decide)).toEqual(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]);
    // The functions that decide statements query the read ledger for the risk rules' per-window count.
    expect([...grantedTo("dynamodb:Query")].sort()).toEqual(
      ["approval-keeper", "log-sequencer", ...CHAIN_READERS, ...DECIDERS].sort(),
    );
  });

  it("lets the functions reading the chain (replays, bundles) make every call DynamoSessionStore.entries makes", async () => {
    // The (action, partition key) pairs a chain read sends: GetItem on the head, then one Query per day.
    const calls: { action: string; pk: string }[] = [];
    const dynamo = mockClient(DynamoDBClient);
    dynamo.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
      calls.push({ action: "dynamodb:GetItem", pk: input.Key?.pk?.S ?? "" });
      return {
        Item: {
          seq: { N: "0" },
          digest: { S: "0".repeat(64) },
          firstDay: { S: "2026-03-01" },
          recordedAt: { S: "2026-03-02T08:00:00.000Z" },
        },
      };
    });
    dynamo.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      calls.push({ action: "dynamodb:Query", pk: input.ExpressionAttributeValues?.[":pk"]?.S ?? "" });
      return { Items: [] };
    });
    try {
      const store = new DynamoSessionStore({
        client: new DynamoDBClient({ region: "eu-west-1" }),
        tableName: "phigate-sessions",
        logger: silentLogger,
        idempotencyTtlSeconds: 3600,
      });
      for await (const _ of store.entries("2026-03-01", "2026-03-02")) expect.unreachable();
    } finally {
      dynamo.restore();
    }
    expect(calls.map((c) => c.action)).toEqual(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Query"]);

    const table = { "Fn::GetAtt": [logicalId(stack.storage.sessions), "Arn"] };
    const matches = (pattern: string, key: string) =>
      new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`).test(key);
    const allows = (statement: Statement, call: { action: string; pk: string }): boolean => {
      const condition = statement.Condition as
        | { "ForAllValues:StringLike"?: { "dynamodb:LeadingKeys"?: string[] } }
        | undefined;
      const patterns = condition?.["ForAllValues:StringLike"]?.["dynamodb:LeadingKeys"] ?? [];
      return (
        actionsOf(statement).includes(call.action) &&
        JSON.stringify(statement.Resource) === JSON.stringify(table) &&
        patterns.some((pattern) => matches(pattern, call.pk))
      );
    };
    for (const id of CHAIN_READERS) {
      for (const call of calls) {
        expect(
          statementsOf(id).some((s) => allows(s, call)),
          `${id}: ${call.action} on ${call.pk}`,
        ).toBe(true);
      }
      const query = statementsOf(id).find((s) => s.Sid === "SessionChain");
      expect(actionsOf(query)).toEqual(["dynamodb:Query"]);
      expect(query?.Condition).toEqual({
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["chain#*"] },
      });
      expect(actionsOf(statementsOf(id).find((s) => s.Sid === "SessionTable"))).toEqual(["dynamodb:GetItem"]);
    }
    // A plain session reader still can't read the chain.
    expect(calls.some((call) => statementsOf("get-session").some((s) => allows(s, call)))).toBe(false);
  });

  it("lets exactly the functions that decide statements make every call DynamoReadLedger makes, on reads# items only", async () => {
    const calls: { action: string; pk: string }[] = [];
    const dynamo = mockClient(DynamoDBClient);
    dynamo.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
      calls.push({ action: "dynamodb:UpdateItem", pk: input.Key?.pk?.S ?? "" });
      return {};
    });
    dynamo.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      calls.push({ action: "dynamodb:Query", pk: input.ExpressionAttributeValues?.[":pk"]?.S ?? "" });
      return { Items: [{ rows: { N: "7" } }] };
    });
    try {
      const ledger = new DynamoReadLedger({
        client: new DynamoDBClient({ region: "eu-west-1" }),
        tableName: "phigate-sessions",
      });
      const at = new Date("2026-03-02T08:00:00.000Z");
      await ledger.add({ principal: "iss#sub", tables: ["public.patients"], rows: 7, at });
      expect(await ledger.rowsSince("iss#sub", "public.patients", at)).toBe(7);
    } finally {
      dynamo.restore();
    }
    expect(calls.map((c) => c.action)).toEqual(["dynamodb:UpdateItem", "dynamodb:Query"]);
    expect(calls.every((c) => c.pk.startsWith("reads#"))).toBe(true);
    const table = { "Fn::GetAtt": [logicalId(stack.storage.sessions), "Arn"] };
    const allows = (statement: Statement, call: { action: string; pk: string }): boolean => {
      const condition = statement.Condition as
        | { "ForAllValues:StringLike"?: { "dynamodb:LeadingKeys"?: string[] } }
        | undefined;
      const patterns = condition?.["ForAllValues:StringLike"]?.["dynamodb:LeadingKeys"] ?? [];
      return (
        actionsOf(statement).includes(call.action) &&
        JSON.stringify(statement.Resource) === JSON.stringify(table) &&
        patterns.some((pattern) =>
          new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`).test(call.pk),
        )
      );
    };
    const mayCount = ALL_FUNCTIONS.filter((f) =>
      calls.every((call) => statementsOf(f.id).some((s) => allows(s, call))),
    ).map((f) => f.id);
    expect(mayCount.sort()).toEqual([...DECIDERS].sort());
    for (const id of DECIDERS) {
      expect(statementsOf(id).find((s) => s.Sid === "ReadLedger")?.Condition).toEqual({
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["reads#*"] },
      });
      // The chain is no longer read to decide.
      expect(statementsOf(id).some((s) => s.Sid === "SessionChain")).toBe(false);
    }
    // No function reaches a caller's ledger through the other statements.
    const untouched = ALL_FUNCTIONS.filter((f) => !DECIDERS.includes(f.id)).filter((f) =>
      calls.some((call) => statementsOf(f.id).some((s) => allows(s, call))),
    );
    expect(untouched.map((f) => f.id)).toEqual([]);
  });

  it("lets exactly the functions that decide statements take and give back a caller's turn, on turn# items only", async () => {
    const calls: { action: string; pk: string }[] = [];
    const dynamo = mockClient(DynamoDBClient);
    dynamo.on(PutItemCommand).callsFake((input: PutItemCommandInput) => {
      calls.push({ action: "dynamodb:PutItem", pk: input.Item?.pk?.S ?? "" });
      return {};
    });
    dynamo.on(DeleteItemCommand).callsFake((input: DeleteItemCommandInput) => {
      calls.push({ action: "dynamodb:DeleteItem", pk: input.Key?.pk?.S ?? "" });
      return {};
    });
    try {
      const turns = new DynamoCallerTurns({
        client: new DynamoDBClient({ region: "eu-west-1" }),
        tableName: "phigate-sessions",
        logger: silentLogger,
      });
      expect(await turns.run("iss#sub", 5_000, async () => "ran")).toBe("ran");
    } finally {
      dynamo.restore();
    }
    expect(calls.map((c) => c.action)).toEqual(["dynamodb:PutItem", "dynamodb:DeleteItem"]);
    expect(calls.every((c) => c.pk.startsWith("turn#"))).toBe(true);
    const table = { "Fn::GetAtt": [logicalId(stack.storage.sessions), "Arn"] };
    const allows = (statement: Statement, call: { action: string; pk: string }): boolean => {
      const condition = statement.Condition as
        | { "ForAllValues:StringLike"?: { "dynamodb:LeadingKeys"?: string[] } }
        | undefined;
      const patterns = condition?.["ForAllValues:StringLike"]?.["dynamodb:LeadingKeys"] ?? [];
      return (
        actionsOf(statement).includes(call.action) &&
        JSON.stringify(statement.Resource) === JSON.stringify(table) &&
        patterns.some((pattern) =>
          new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`).test(call.pk),
        )
      );
    };
    const mayTakeTurns = ALL_FUNCTIONS.filter((f) =>
      calls.every((call) => statementsOf(f.id).some((s) => allows(s, call))),
    ).map((f) => f.id);
    expect(mayTakeTurns.sort()).toEqual([...DECIDERS].sort());
    for (const id of DECIDERS) {
      const statement = statementsOf(id).find((s) => s.Sid === "CallerTurns");
      expect(actionsOf(statement)).toEqual(["dynamodb:DeleteItem", "dynamodb:PutItem"]);
      expect(statement?.Condition).toEqual({
        "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["turn#*"] },
      });
    }
    // No other function reaches a caller's lease through any statement, and none deletes anything else.
    const untouched = ALL_FUNCTIONS.filter((f) => !DECIDERS.includes(f.id)).filter((f) =>
      calls.some((call) => statementsOf(f.id).some((s) => allows(s, call))),
    );
    expect(untouched.map((f) => f.id)).toEqual([]);
    for (const f of ALL_FUNCTIONS) {
      for (const s of statementsOf(f.id).filter((s) => actionsOf(s).includes("dynamodb:DeleteItem")))
        expect(s.Sid, f.id).toBe("CallerTurns");
    }
  });

  it("gives the approver client secret to the OIDC callback only, and the key material to the page functions", () => {
    const secret = statementsOf("approval-sign-in").find((s) => s.Sid === "ApproverClientSecret");
    expect(secret?.Resource).toBe(CONTEXT.approverClientSecretArn);
    expect(
      ALL_FUNCTIONS.filter((f) => statementsOf(f.id).some((s) => s.Sid === "ApproverClientSecret")).map(
        (f) => f.id,
      ),
    ).toEqual(["approval-sign-in"]);
    expect(
      statementsOf("approval-sign-in")
        .map((s) => s.Sid)
        .sort(),
    ).toEqual(["ApproverClientSecret", "DataKey", "KeyMaterial", "OwnLogGroup", "Tracing"]);
  });
});
