// The approval flow on the AWS adapters, each function composed from its own capabilities, with the SDKs mocked:
// submit → StartExecution → plan-wait → notify (SNS, token kept in DynamoDB) → approve → SendTaskSuccess with the
// stored token → execute-approved (on PGlite) → session completed, approval closed and its parameters erased.

import { createHash } from "node:crypto";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { RDSDataClient } from "@aws-sdk/client-rds-data";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type AwsClients, type AwsDeps, createAwsDeps, loadBundledPolicy } from "#infra/aws/compose.ts";
import { lambdaConfigFromEnv } from "#infra/aws/config.ts";
import { apiGatewayHandler } from "#infra/aws/edge.ts";
import { notifierPart } from "#infra/aws/parts/notifier.ts";
import { secretsPart } from "#infra/aws/parts/secrets.ts";
import { signerPart } from "#infra/aws/parts/signer.ts";
import { workflowPart } from "#infra/aws/parts/workflow.ts";
import { writeBundledPolicy } from "#infra/cdk/parsed-policy.ts";
import { PgliteExecutor } from "#infra/local/adapters/pglite-executor.ts";
import { sweepApprovals } from "#shared/approval/keeper.ts";
import type { TaskName } from "#shared/approval/workflow-description.ts";
import type { EntryDeclaration } from "#shared/capabilities.ts";
import { route as getSessionRoute } from "#shared/http/handlers/get-session.ts";
import { route as decisionRoute } from "#shared/http/handlers/post-approval-decision.ts";
import { route as postQueryRoute } from "#shared/http/handlers/post-query.ts";
import { createTokenVerifier } from "#shared/identity/token-verifier.ts";
import { job as keeperJob } from "#shared/jobs/approval-keeper.ts";
import { silentLogger } from "#shared/log.ts";
import { createApprovalTasks, WORKFLOW_TASKS } from "#shared/query/workflow-tasks.ts";
import { RESULTS_PREFIX } from "#shared/sessions/run-statement.ts";
import { createStatementAnalyzer } from "#shared/sql/statement-analyzer.ts";
import { demoPolicyWith, RAW_SSN, RISKY_SMALL_SQL } from "#test/support/approvals.ts";
import { createTestIssuer, type TestIssuer } from "#test/support/tokens.ts";
import { FakeApprovalTable } from "#test/unit/aws/support/fake-approval-table.ts";
import { FakeTable } from "#test/unit/aws/support/fake-dynamo.ts";

const ARN = "arn:aws:kms:eu-west-1:111111111111:key/0000";
const STATE_MACHINE = "arn:aws:states:eu-west-1:111111111111:stateMachine:Phigate-approval";
const TOPIC = "arn:aws:sns:eu-west-1:111111111111:approvers";
const PUBLIC_URL = "https://phigate.example.org";
const NIGHTLY = "repo:acme/ehr-reports:ref:refs/heads/main";
const credentials = { accessKeyId: "AKIDTESTTESTTEST", secretAccessKey: "test-secret-not-real" };

const dynamo = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const sns = mockClient(SNSClient);
const secrets = mockClient(SecretsManagerClient);

let dir: string;
let idp: TestIssuer;
let executor: PgliteExecutor;
let policyDigest: string;
const sessionsTable = new FakeTable();
const approvalsTable = new FakeApprovalTable();
const objects = new Map<string, Buffer>();

function env(functionId: string): Record<string, string> {
  return {
    PHIGATE_FUNCTION_ID: functionId,
    PHIGATE_SESSIONS_TABLE: "sessions",
    PHIGATE_RESULTS_BUCKET: "results",
    PHIGATE_DATA_KEY_ARN: ARN,
    PHIGATE_ISSUERS: JSON.stringify([
      { issuer: idp.issuer, jwksUri: `${idp.issuer}jwks`, audience: ["phigate"] },
    ]),
    PHIGATE_POLICY_DIGEST: policyDigest,
    PHIGATE_DB_CLUSTER_ARN: "arn:aws:rds:eu-west-1:111111111111:cluster:ehr",
    PHIGATE_DB_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db",
    PHIGATE_DB_NAME: "ehr",
    PHIGATE_KEYS_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:keys",
    PHIGATE_APPROVALS_TABLE: "approvals",
    PHIGATE_STATE_MACHINE_ARN: STATE_MACHINE,
    PHIGATE_APPROVERS_TOPIC_ARN: TOPIC,
    PHIGATE_EVIDENCE_BUCKET: "evidence",
    PHIGATE_SIGNING_KEY_ARN: "arn:aws:kms:eu-west-1:111111111111:key/5161",
    PHIGATE_PUBLIC_URL: PUBLIC_URL,
  };
}

/** One function's dependencies, built by the composition root from that function's capabilities alone. */
async function depsOf(entry: Pick<EntryDeclaration, "id" | "capabilities">): Promise<AwsDeps> {
  const config = lambdaConfigFromEnv(env(entry.id), entry);
  const policy = await loadBundledPolicy(dir, config);
  const clients: AwsClients = {
    dynamo: new DynamoDBClient({ region: "eu-west-1", credentials }),
    s3: new S3Client({ region: "eu-west-1", credentials }),
    secrets: new SecretsManagerClient({ region: "eu-west-1", credentials }),
    sfn: new SFNClient({ region: "eu-west-1", credentials }),
    sns: new SNSClient({ region: "eu-west-1", credentials }),
    // The SQL side below runs on PGlite; the Data API client is only handed to it.
    rdsData: new RDSDataClient({ region: "eu-west-1", credentials }),
  };
  const deps = await createAwsDeps(config, policy, clients, silentLogger, {
    sql: {
      client: () => new RDSDataClient({}),
      executor: () => executor,
      analyzer: (ex) => createStatementAnalyzer(ex),
    },
    secrets: secretsPart,
    workflow: workflowPart,
    notifier: notifierPart,
    signer: signerPart,
  });
  return { ...deps, verifier: createTokenVerifier([idp.config]) };
}

function event(
  method: string,
  path: string,
  token: string,
  body?: unknown,
  params = {},
): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: "",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    pathParameters: params,
    requestContext: { http: { method, path, sourceIp: "192.0.2.1", userAgent: "test" } },
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  } as unknown as APIGatewayProxyEventV2;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "phigate-aws-flow-"));
  idp = await createTestIssuer("https://login.example.org/", "phigate");
  const policy = await demoPolicyWith([["dev: dev-idp", `dev: ${idp.issuer}`]]);
  await writeFile(join(dir, "source-policy.yaml"), policy);
  writeBundledPolicy(join(dir, "source-policy.yaml"), dir);
  policyDigest = createHash("sha256").update(policy).digest("hex");
  await cp(inject("pgdataTemplate"), join(dir, "pgdata"), { recursive: true });
  executor = await PgliteExecutor.start({ dataDir: join(dir, "pgdata"), logger: silentLogger });

  const table = (input: { TableName?: string | undefined }) =>
    input.TableName === "approvals" ? approvalsTable : undefined;
  dynamo.on(GetItemCommand).callsFake((input) => table(input)?.get(input) ?? sessionsTable.getItem(input));
  dynamo.on(QueryCommand).callsFake((input) => table(input)?.query(input) ?? sessionsTable.query(input));
  dynamo.on(TransactWriteItemsCommand).callsFake((input) => sessionsTable.transactWrite(input));
  dynamo.on(PutItemCommand).callsFake((input) => approvalsTable.put(input));
  // The read ledger's items live in the sessions table (a 202 decided by the estimate counts a PHI row).
  dynamo
    .on(UpdateItemCommand)
    .callsFake((input) =>
      input.TableName === "approvals" ? approvalsTable.update(input) : sessionsTable.updateItem(input),
    );
  s3.on(PutObjectCommand).callsFake((input) => {
    const key = `${input.Bucket}/${input.Key}`;
    if (objects.has(key)) throw Object.assign(new Error("exists"), { name: "PreconditionFailed" });
    objects.set(key, Buffer.from(input.Body));
    return {};
  });
  s3.on(GetObjectCommand).callsFake((input) => {
    const body = objects.get(`${input.Bucket}/${input.Key}`);
    if (body === undefined) throw Object.assign(new Error("missing"), { name: "NoSuchKey" });
    return { Body: { transformToByteArray: async () => new Uint8Array(body) } as never };
  });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ master: "k".repeat(64) }) });
  sfn.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:x`, startDate: new Date() });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskHeartbeatCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
}, 120_000);

afterAll(async () => {
  await executor?.close();
  dynamo.restore();
  s3.restore();
  sfn.restore();
  sns.restore();
  secrets.restore();
  await rm(dir, { recursive: true, force: true });
});

describe("approval on the AWS adapters, function by function", () => {
  it("runs an approved statement once: Step Functions, SNS, DynamoDB and S3 requests as each function makes them", async () => {
    const requester = await idp.token(NIGHTLY);
    const alice = await idp.token("alice", { groups: ["phi-approvers"], email: "alice@example.org" });

    // post-query: records the session, creates the approval, starts the execution named by the approval id.
    const postQuery = apiGatewayHandler(postQueryRoute.create(await depsOf(postQueryRoute)));
    const submitted = await postQuery?.(
      event("POST", "/v1/queries", requester, { sql: RISKY_SMALL_SQL, params: ["1%"], purpose: "audit" }),
    );
    expect(submitted?.statusCode).toBe(202);
    const body = JSON.parse(String(submitted?.body));
    const approvalId: string = body.approval.id;
    const sessionId: string = body.sessionId;
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: STATE_MACHINE, name: approvalId, input: JSON.stringify({ approvalId, sessionId }) },
    ]);

    // The state machine's tasks, each with its own function's capabilities.
    const task = async (name: TaskName, payload: unknown) =>
      createApprovalTasks(await depsOf(WORKFLOW_TASKS[name]))[name](payload);
    const data = { approvalId, sessionId };
    const wait = (await task("plan-wait", data)) as { remainingSeconds: number; heartbeatSeconds: number };
    expect(wait.remainingSeconds).toBeGreaterThan(3000);
    expect(wait.heartbeatSeconds).toBe(300);
    const taskToken = `AAAAKgAAAAIAAAAAAAAAA${"t".repeat(400)}`;
    expect(await task("notify-approvers", { input: { ...data, wait }, taskToken })).toEqual({
      notified: true,
    });
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]?.TopicArn).toBe(TOPIC);
    expect(published[0]?.Message).toContain(`${PUBLIC_URL}/approvals/${approvalId}`);
    expect(published[0]?.Message).not.toContain(taskToken);
    expect(published[0]?.Message).not.toMatch(/SELECT|ssn LIKE|1%/);
    expect(approvalsTable.items.get(`approval#${approvalId}|0`)?.taskToken).toEqual({ S: taskToken });

    // The keeper beats the heart of the waiting task with the stored token.
    const keeper = await depsOf(keeperJob);
    // A sweep asked to stop (a host closing) signals nothing more.
    const heartbeatsBefore = sfn.commandCalls(SendTaskHeartbeatCommand).length;
    expect(await sweepApprovals(keeper, AbortSignal.abort())).toEqual({ heartbeats: 0, resent: 0 });
    expect(sfn.commandCalls(SendTaskHeartbeatCommand)).toHaveLength(heartbeatsBefore);
    expect(await sweepApprovals(keeper)).toEqual({ heartbeats: 1, resent: 0 });
    expect(sfn.commandCalls(SendTaskHeartbeatCommand).at(-1)?.args[0].input).toEqual({ taskToken });

    // An approver decides through the API: one conditional append, then SendTaskSuccess with the stored token.
    const decide = apiGatewayHandler(decisionRoute.create(await depsOf(decisionRoute)));
    const decided = await decide?.(
      event(
        "POST",
        `/v1/approvals/${approvalId}/decision`,
        alice,
        { decision: "approve" },
        { id: approvalId },
      ),
    );
    expect(decided?.statusCode).toBe(200);
    expect(sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input)).toEqual([
      { taskToken, output: '{"outcome":"approved"}' },
    ]);

    // Execute: the recorded statement runs once through the shared path; a retry finds it completed.
    const executed = await task("execute-approved", { ...data, wait, decision: { outcome: "approved" } });
    expect(executed).toEqual({ status: "completed" });
    expect(await task("execute-approved", { ...data, wait, decision: { outcome: "approved" } })).toEqual({
      status: "completed",
    });

    const getSession = apiGatewayHandler(getSessionRoute.create(await depsOf(getSessionRoute)));
    const read = await getSession?.(
      event("GET", `/v1/sessions/${sessionId}`, requester, undefined, { id: sessionId }),
    );
    const session = JSON.parse(String(read?.body));
    expect(session).toMatchObject({ status: "completed", approvals: [{ decision: "approve" }] });
    expect(JSON.stringify(session.result)).not.toMatch(RAW_SSN);
    // Results land under the prefix the functions' IAM grants are scoped to.
    const results = [...objects.keys()].filter((key) => key.startsWith("results/"));
    expect(results.length).toBeGreaterThan(0);
    for (const key of results) expect(key.startsWith(`results/${RESULTS_PREFIX}`)).toBe(true);
    const approval = approvalsTable.items.get(`approval#${approvalId}|0`);
    expect(approval?.status).toEqual({ S: "executed" });
    expect(approval?.params).toEqual({ NULL: true });
    expect(approval?.openPk).toBeUndefined();
    expect(approval?.purgeAt?.N).toMatch(/^\d+$/);
    expect(await sweepApprovals(keeper)).toEqual({ heartbeats: 0, resent: 0 });
  });
});
