// The approval states, once: the local runner interprets this description and the CDK renders it to Amazon States Language.

import * as z from "zod";
import { SESSION_ID_PATTERN } from "#shared/ids.ts";
import { APPROVAL_ID_PATTERN } from "./approval-request.ts";
import {
  APPROVAL_EXPIRED_ERROR,
  type WorkflowDescription,
  workflowDescriptionSchema,
} from "./workflow-description.ts";

/** The input every execution starts with (`StartExecution` input; the execution name is the approval id). */
export const approvalWorkflowInputSchema = z.strictObject({
  approvalId: z.string().regex(APPROVAL_ID_PATTERN),
  sessionId: z.string().regex(SESSION_ID_PATTERN),
});

/** The workflow's input. */
export type ApprovalWorkflowInput = z.infer<typeof approvalWorkflowInputSchema>;

/** Transient task failures (a store briefly unavailable) are retried; tasks are idempotent. */
const TRANSIENT = [
  { errorEquals: ["States.TaskFailed" as const], intervalSeconds: 2, maxAttempts: 3, backoffRate: 2 },
];

/**
 * Retries of the callback's worker: only transient failures (Lambda throttled or failing, SNS or DynamoDB unavailable),
 * never `States.TaskFailed` (it would retry the worker's deliberate ApprovalExpired before the catch routes it).
 */
const TRANSIENT_WORKER = [
  {
    errorEquals: [
      "Lambda.TooManyRequestsException" as const,
      "Lambda.ServiceException" as const,
      "Lambda.AWSLambdaException" as const,
      "Lambda.SdkClientException" as const,
      "UnavailableError" as const,
    ],
    intervalSeconds: 2,
    maxAttempts: 5,
    backoffRate: 2,
  },
];

/**
 * Just-in-time approval of one recorded statement. `PlanWait` computes the seconds left before the approval
 * expires; `AwaitDecision` hands `notify-approvers` a task token (kept in the approval store; approvers get only
 * the opaque approval id) and waits for the decision until the expiry, with a heartbeat that the token holder
 * sends while it is alive; a lapsed heartbeat re-plans the wait with a fresh token. The token holder also fails the
 * task with `phigate.ApprovalExpired` once the approval's own expiry has passed (the timeout runs from when the wait
 * was entered, which a stalled or restarted host may have delayed). `Decide` routes the outcome:
 * the recorded statement runs (`Execute`) or the session is closed as denied or expired. Validated where it is
 * imported; marked pure so a bundle that never reads it (the functions that only start executions) drops it.
 */
export const APPROVAL_STATES: WorkflowDescription = /* @__PURE__ */ workflowDescriptionSchema.parse({
  name: "phigate-approval",
  comment:
    "phigate just-in-time approval: notify with a task token, wait for a decision until expiry, then run or close",
  startAt: "PlanWait",
  // Eight days, as a literal: arithmetic here would keep the pure-marked parse in bundles that never read it.
  timeoutSeconds: 691_200,
  states: {
    PlanWait: {
      type: "task",
      task: "plan-wait",
      comment: "Seconds left until the approval expires and the heartbeat interval of the wait",
      timeoutSeconds: 30,
      resultPath: "$.wait",
      retry: TRANSIENT,
      catch: [{ errorEquals: ["States.ALL"], resultPath: "$.failure", next: "CloseFailed" }],
      next: "CheckTimeLeft",
    },
    CheckTimeLeft: {
      type: "choice",
      comment: "Too little time left for a callback wait: sit out the remainder, then expire",
      choices: [{ variable: "$.wait.remainingSeconds", numericLessThan: 2, next: "WaitOutRemainder" }],
      default: "AwaitDecision",
    },
    WaitOutRemainder: {
      type: "wait",
      comment: "The last second or two before the expiry",
      secondsPath: "$.wait.remainingSeconds",
      next: "Expire",
    },
    AwaitDecision: {
      type: "callback",
      task: "notify-approvers",
      comment: "Store the task token with the approval, notify approvers once, wait for the decision",
      timeoutSecondsPath: "$.wait.remainingSeconds",
      heartbeatSecondsPath: "$.wait.heartbeatSeconds",
      resultPath: "$.decision",
      retry: TRANSIENT_WORKER,
      catch: [
        { errorEquals: ["States.HeartbeatTimeout"], resultPath: "$.failure", next: "PlanWait" },
        { errorEquals: ["States.Timeout", APPROVAL_EXPIRED_ERROR], resultPath: "$.failure", next: "Expire" },
        { errorEquals: ["States.ALL"], resultPath: "$.failure", next: "CloseFailed" },
      ],
      next: "Decide",
    },
    Decide: {
      type: "choice",
      comment: "Route the outcome of the decision (or of the expiry)",
      choices: [
        { variable: "$.decision.outcome", stringEquals: "approved", next: "Execute" },
        { variable: "$.decision.outcome", stringEquals: "denied", next: "CloseDenied" },
        { variable: "$.decision.outcome", stringEquals: "expired", next: "Done" },
      ],
      default: "CloseFailed",
    },
    Execute: {
      type: "task",
      task: "execute-approved",
      comment: "Run the recorded statement once (re-analyzed, re-decided), mask, store and record the result",
      timeoutSeconds: 900,
      resultPath: "$.execution",
      retry: TRANSIENT,
      catch: [{ errorEquals: ["States.ALL"], resultPath: "$.failure", next: "CloseFailed" }],
      next: "Done",
    },
    CloseDenied: {
      type: "task",
      task: "close-denied",
      comment: "Record the session as denied, with every decision",
      timeoutSeconds: 30,
      resultPath: null,
      retry: TRANSIENT,
      catch: [{ errorEquals: ["States.ALL"], resultPath: "$.failure", next: "CloseFailed" }],
      next: "Done",
    },
    Expire: {
      type: "task",
      task: "close-expired",
      comment:
        "Expire the approval and the session unless a decision landed first (then route that decision)",
      timeoutSeconds: 30,
      resultPath: "$.decision",
      retry: TRANSIENT,
      catch: [{ errorEquals: ["States.ALL"], resultPath: "$.failure", next: "CloseFailed" }],
      next: "Decide",
    },
    CloseFailed: {
      type: "task",
      task: "close-failed",
      comment: "Fail the session closed: nothing runs",
      timeoutSeconds: 30,
      resultPath: null,
      retry: TRANSIENT,
      catch: [],
      next: "Failed",
    },
    Done: { type: "succeed", comment: "The session is completed, failed, denied or expired" },
    Failed: {
      type: "fail",
      comment: "The workflow could not finish; the session was failed closed",
      error: "ApprovalWorkflowFailed",
      cause: "a task of the approval workflow failed; the session was failed closed",
    },
  },
});

/** Longest wait between heartbeats of the token holder (it must be shorter than the wait itself). */
export const HEARTBEAT_SECONDS = 300;
