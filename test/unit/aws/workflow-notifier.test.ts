// Step Functions workflow adapter and SNS notifier: exact requests, idempotent start, token errors, no token in logs.

import {
  ExecutionAlreadyExists,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { SfnApprovalWorkflow } from "#infra/aws/adapters/sfn-approval-workflow.ts";
import { noticeSubject, SnsNotifier } from "#infra/aws/adapters/sns-notifier.ts";
import type { ApprovalNotice } from "#shared/approval/notice.ts";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import { errorFields } from "#shared/log.ts";

const SM = "arn:aws:states:eu-west-1:111111111111:stateMachine:phigate-approval";
const TOPIC = "arn:aws:sns:eu-west-1:111111111111:phigate-approvers";
const TOKEN = `AQCEAAAAKgAAAA${"x".repeat(600)}`;
const APPROVAL = "apr_0000000000000000000000000A";
const SESSION = "ses_00000000000000000000000000";
const sfn = mockClient(SFNClient);
const sns = mockClient(SNSClient);
const credentials = { accessKeyId: "AKIDTESTTESTTEST", secretAccessKey: "test-secret-not-real" };
const workflow = (stateMachineArn: string | null = SM) =>
  new SfnApprovalWorkflow({
    client: new SFNClient({ region: "eu-west-1", credentials }),
    stateMachineArn: stateMachineArn ?? undefined,
  });

beforeEach(() => {
  sfn.reset();
  sns.reset();
});

describe("SfnApprovalWorkflow", () => {
  it("starts one execution named by the approval id with the ids as input", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${SM}:${APPROVAL}`, startDate: new Date() });
    await workflow().start({ approvalId: APPROVAL, sessionId: SESSION });
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: SM,
      name: APPROVAL,
      input: JSON.stringify({ approvalId: APPROVAL, sessionId: SESSION }),
    });
  });

  it("takes ExecutionAlreadyExists as started (a retried start is idempotent) and other failures as unavailable", async () => {
    sfn
      .on(StartExecutionCommand)
      .rejectsOnce(new ExecutionAlreadyExists({ message: "exists", $metadata: {} }))
      .rejectsOnce(new Error("ThrottlingException"));
    await expect(workflow().start({ approvalId: APPROVAL, sessionId: SESSION })).resolves.toBeUndefined();
    await expect(workflow().start({ approvalId: APPROVAL, sessionId: SESSION })).rejects.toMatchObject({
      code: "workflow_unavailable",
    });
    await expect(workflow().start({ approvalId: "apr_bad", sessionId: SESSION })).rejects.toThrow();
    await expect(workflow(null).start({ approvalId: APPROVAL, sessionId: SESSION })).rejects.toBeInstanceOf(
      UnavailableError,
    );
  });

  it("sends success, failure and heartbeat with the token exactly as stored", async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    sfn.on(SendTaskHeartbeatCommand).resolves({});
    await workflow(null).sendTaskSuccess(TOKEN, { outcome: "approved" });
    await workflow(null).sendTaskFailure(TOKEN, "phigate.ApprovalExpired", "the approval request expired");
    await workflow(null).sendTaskHeartbeat(TOKEN);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: TOKEN,
      output: '{"outcome":"approved"}',
    });
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toEqual({
      taskToken: TOKEN,
      error: "phigate.ApprovalExpired",
      cause: "the approval request expired",
    });
    expect(sfn.commandCalls(SendTaskHeartbeatCommand)[0]?.args[0].input).toEqual({ taskToken: TOKEN });
  });

  it.each([
    ["TaskDoesNotExist", new TaskDoesNotExist({ message: `Task ${TOKEN} does not exist`, $metadata: {} })],
    ["TaskTimedOut", new TaskTimedOut({ message: `Task ${TOKEN} timed out`, $metadata: {} })],
    ["InvalidToken", new InvalidToken({ message: `Invalid token ${TOKEN}`, $metadata: {} })],
  ])(
    "maps %s to task_not_open, and keeps the token out of the error and its log fields",
    async (_, error) => {
      sfn.on(SendTaskSuccessCommand).rejects(error);
      sfn.on(SendTaskHeartbeatCommand).rejects(error);
      for (const call of [
        () => workflow().sendTaskSuccess(TOKEN, { outcome: "denied" }),
        () => workflow().sendTaskHeartbeat(TOKEN),
      ]) {
        const failure = await call().catch((e: unknown) => e);
        expect(failure).toBeInstanceOf(ConflictError);
        expect(failure).toMatchObject({ code: "task_not_open" });
        expect((failure as Error).cause).toBeUndefined();
        expect(
          JSON.stringify({ ...errorFields(failure), message: (failure as Error).message }),
        ).not.toContain(TOKEN.slice(0, 40));
      }
    },
  );

  it("maps a throttled signal to workflow_unavailable without the SDK error attached", async () => {
    sfn.on(SendTaskHeartbeatCommand).rejects(new Error(`ThrottlingException for ${TOKEN}`));
    const failure = await workflow()
      .sendTaskHeartbeat(TOKEN)
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: "workflow_unavailable" });
    expect(String((failure as Error).message)).not.toContain(TOKEN.slice(0, 40));
    expect((failure as Error).cause).toBeUndefined();
  });
});

const NOTICE: ApprovalNotice = {
  approvalId: APPROVAL,
  sessionId: SESSION,
  link: `https://abc.execute-api.eu-west-1.amazonaws.com/approvals/${APPROVAL}`,
  requester: {
    label: "octo-org/reports\r\nBcc: evil@example.com",
    subject: "repo:octo-org/reports:ref:refs/heads/main",
    issuer: "https://token.actions.githubusercontent.com",
    repository: "octo-org/reports",
    workflow: "octo-org/reports/.github/workflows/nightly.yml@refs/heads/main",
    runId: "42",
  },
  reasons: ["reads patients.ssn for every patient (whole table)"],
  expiresAt: "2026-11-29T13:00:00.000Z",
  quorum: 1,
  createdAt: "2026-11-29T12:00:00.000Z",
};

describe("SnsNotifier", () => {
  it("publishes the shared notice text with the opaque link — no SQL, parameters or task token", async () => {
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    await new SnsNotifier({
      client: new SNSClient({ region: "eu-west-1", credentials }),
      topicArn: TOPIC,
    }).notify(NOTICE);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.TopicArn).toBe(TOPIC);
    expect(input?.Message).toContain(NOTICE.link);
    expect(input?.Message).toContain("reads patients.ssn");
    expect(input?.Message).not.toMatch(/SELECT|taskToken|AQCEAAAA|123-45-6789/i);
    expect(Object.keys(input ?? {}).sort()).toEqual(["Message", "Subject", "TopicArn"]);
    expect(input?.Subject).toBe(noticeSubject(NOTICE));
    expect(input?.Subject).not.toMatch(/[\r\n]/);
    expect(input?.Subject?.length).toBeLessThan(100);
  });

  it("keeps subjects ASCII and short", () => {
    const long = noticeSubject({
      ...NOTICE,
      requester: { ...NOTICE.requester, label: `Zoë ${"x".repeat(200)}` },
    });
    expect(long).toMatch(/^[\x20-\x7e]+$/);
    expect(long.length).toBeLessThan(100);
  });

  it("fails the notification (the workflow fails closed) when SNS refuses", async () => {
    sns.on(PublishCommand).rejects(new Error("KMS.AccessDeniedException"));
    await expect(
      new SnsNotifier({
        client: new SNSClient({ region: "eu-west-1", credentials }),
        topicArn: TOPIC,
      }).notify(NOTICE),
    ).rejects.toBeInstanceOf(UnavailableError);
  });
});
