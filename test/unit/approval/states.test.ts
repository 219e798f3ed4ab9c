// The approval state description: valid as data, and rendered mechanically to Amazon States Language.

import { describe, expect, it } from "vitest";
import {
  APPROVAL_STATES,
  approvalWorkflowInputSchema,
  HEARTBEAT_SECONDS,
} from "#shared/approval/approval-workflow.ts";
import { type TaskArns, toAmazonStatesLanguage, WAIT_FOR_TASK_TOKEN_RESOURCE } from "#shared/approval/asl.ts";
import { TASK_NAMES, workflowDescriptionSchema } from "#shared/approval/workflow-description.ts";

const ARNS = Object.fromEntries(
  TASK_NAMES.map((name) => [name, `arn:aws:lambda:eu-west-1:111111111111:function:phigate-${name}`]),
) as unknown as TaskArns;

// biome-ignore lint/suspicious/noExplicitAny: the test walks an arbitrary ASL document
type Asl = any;

describe("APPROVAL_STATES", () => {
  it("is a valid description: every transition names a state, every state is reachable", () => {
    expect(() => workflowDescriptionSchema.parse(APPROVAL_STATES)).not.toThrow();
    const broken = structuredClone(APPROVAL_STATES);
    (broken.states.Decide as { default: string }).default = "Nowhere";
    expect(() => workflowDescriptionSchema.parse(broken)).toThrow(/unknown Nowhere/);
    const orphan = structuredClone(APPROVAL_STATES);
    orphan.states.Orphan = { type: "succeed", comment: "never reached" };
    expect(() => workflowDescriptionSchema.parse(orphan)).toThrow(/Orphan is unreachable/);
  });

  it("waits for a decision with a task token, a timeout of the time left and a shorter heartbeat", () => {
    const wait = APPROVAL_STATES.states.AwaitDecision;
    expect(wait).toMatchObject({
      type: "callback",
      task: "notify-approvers",
      timeoutSecondsPath: "$.wait.remainingSeconds",
      heartbeatSecondsPath: "$.wait.heartbeatSeconds",
      next: "Decide",
    });
    expect(HEARTBEAT_SECONDS).toBeLessThan(3600);
  });
});

describe("approvalWorkflowInputSchema", () => {
  it("accepts only ids the approval store accepts (Crockford approval ids, session ids)", () => {
    const sessionId = `ses_${"0".repeat(26)}`;
    expect(
      approvalWorkflowInputSchema.safeParse({ approvalId: `apr_${"A".repeat(26)}`, sessionId }).success,
    ).toBe(true);
    // I, L, O and U are not Crockford base32: no approval id ever has them.
    for (const letter of ["I", "L", "O", "U"]) {
      const approvalId = `apr_${letter.repeat(26)}`;
      expect(approvalWorkflowInputSchema.safeParse({ approvalId, sessionId }).success).toBe(false);
    }
    expect(
      approvalWorkflowInputSchema.safeParse({ approvalId: `apr_${"A".repeat(26)}`, sessionId: "ses_1" })
        .success,
    ).toBe(false);
  });
});

describe("toAmazonStatesLanguage", () => {
  const asl: Asl = toAmazonStatesLanguage(APPROVAL_STATES, ARNS);

  it("renders the top level and every state by name", () => {
    expect(asl.StartAt).toBe("PlanWait");
    expect(asl.TimeoutSeconds).toBe(APPROVAL_STATES.timeoutSeconds);
    expect(Object.keys(asl.States).sort()).toEqual(Object.keys(APPROVAL_STATES.states).sort());
    expect(JSON.parse(JSON.stringify(asl))).toEqual(asl);
  });

  it("renders the callback as lambda:invoke.waitForTaskToken with the token in the payload, timeout and heartbeat paths", () => {
    expect(asl.States.AwaitDecision).toEqual({
      Type: "Task",
      Comment: expect.any(String),
      Resource: WAIT_FOR_TASK_TOKEN_RESOURCE,
      Parameters: {
        FunctionName: ARNS["notify-approvers"],
        Payload: { "input.$": "$", "taskToken.$": "$$.Task.Token" },
      },
      TimeoutSecondsPath: "$.wait.remainingSeconds",
      HeartbeatSecondsPath: "$.wait.heartbeatSeconds",
      ResultPath: "$.decision",
      // A throttled or failing worker (notify-approvers) is retried, never failed closed at once; its deliberate
      // ApprovalExpired is not retried (it is no transient error).
      Retry: [
        {
          ErrorEquals: [
            "Lambda.TooManyRequestsException",
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "UnavailableError",
          ],
          IntervalSeconds: 2,
          MaxAttempts: 5,
          BackoffRate: 2,
        },
      ],
      Catch: [
        { ErrorEquals: ["States.HeartbeatTimeout"], ResultPath: "$.failure", Next: "PlanWait" },
        {
          ErrorEquals: ["States.Timeout", "phigate.ApprovalExpired"],
          ResultPath: "$.failure",
          Next: "Expire",
        },
        { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "CloseFailed" },
      ],
      Next: "Decide",
    });
  });

  it("renders plain tasks as direct function invocations with timeouts, retries and catchers", () => {
    expect(asl.States.Execute).toMatchObject({
      Type: "Task",
      Resource: ARNS["execute-approved"],
      TimeoutSeconds: 900,
      ResultPath: "$.execution",
      Retry: [{ ErrorEquals: ["States.TaskFailed"], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "CloseFailed" }],
      Next: "Done",
    });
    expect(asl.States.CloseDenied.ResultPath).toBeNull();
    expect(asl.States.CloseFailed).not.toHaveProperty("Catch");
  });

  it("renders choices, the wait and the terminal states", () => {
    expect(asl.States.Decide).toMatchObject({
      Type: "Choice",
      Choices: [
        { Variable: "$.decision.outcome", StringEquals: "approved", Next: "Execute" },
        { Variable: "$.decision.outcome", StringEquals: "denied", Next: "CloseDenied" },
        { Variable: "$.decision.outcome", StringEquals: "expired", Next: "Done" },
      ],
      Default: "CloseFailed",
    });
    expect(asl.States.CheckTimeLeft.Choices).toEqual([
      { Variable: "$.wait.remainingSeconds", NumericLessThan: 2, Next: "WaitOutRemainder" },
    ]);
    expect(asl.States.WaitOutRemainder).toMatchObject({
      Type: "Wait",
      SecondsPath: "$.wait.remainingSeconds",
    });
    expect(asl.States.Done.Type).toBe("Succeed");
    expect(asl.States.Failed).toMatchObject({ Type: "Fail", Error: "ApprovalWorkflowFailed" });
  });

  it("keeps ASL's structural rules: every Next and Default names a state, terminal states have no Next", () => {
    const names = new Set(Object.keys(asl.States));
    expect(names.has(asl.StartAt)).toBe(true);
    for (const [name, state] of Object.entries<Asl>(asl.States)) {
      const targets = [
        state.Next,
        state.Default,
        ...(state.Choices ?? []).map((c: Asl) => c.Next),
        ...(state.Catch ?? []).map((c: Asl) => c.Next),
      ].filter((t) => t !== undefined);
      for (const target of targets) expect(names.has(target), `${name} → ${target}`).toBe(true);
      if (state.Type === "Succeed" || state.Type === "Fail") expect(state.Next, name).toBeUndefined();
      if (state.Type === "Task") expect(state.Resource, name).toMatch(/^arn:aws:/);
      expect(name.length).toBeLessThanOrEqual(80);
    }
  });

  it("refuses to render without a function ARN for every task", () => {
    const partial = { ...ARNS, "execute-approved": "" };
    expect(() => toAmazonStatesLanguage(APPROVAL_STATES, partial)).toThrow(/execute-approved/);
  });
});
