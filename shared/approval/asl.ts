// Renders a workflow description to Amazon States Language (the CDK's `DefinitionBody.fromString` input).

import type { TaskName, WorkflowDescription, WorkflowState } from "./workflow-description.ts";

/** The ARN of the function behind each task (a Lambda function ARN or a CDK token standing for one). */
export type TaskArns = Readonly<Record<TaskName, string>>;

/** The Step Functions integration that invokes a Lambda and waits for its task token to be completed. */
export const WAIT_FOR_TASK_TOKEN_RESOURCE = "arn:aws:states:::lambda:invoke.waitForTaskToken";

type AslState = Record<string, unknown>;

function catchers(state: Extract<WorkflowState, { type: "task" | "callback" }>): AslState {
  if (state.catch.length === 0) return {};
  return {
    Catch: state.catch.map((c) => ({
      ErrorEquals: [...c.errorEquals],
      ResultPath: c.resultPath,
      Next: c.next,
    })),
  };
}

/** The ASL `Retry` of a task or callback state (absent when it has none). */
function retriers(state: Extract<WorkflowState, { type: "task" | "callback" }>): { Retry?: object[] } {
  if (state.retry.length === 0) return {};
  return {
    Retry: state.retry.map((r) => ({
      ErrorEquals: [...r.errorEquals],
      IntervalSeconds: r.intervalSeconds,
      MaxAttempts: r.maxAttempts,
      BackoffRate: r.backoffRate,
    })),
  };
}

function render(state: WorkflowState, arns: TaskArns): AslState {
  switch (state.type) {
    case "task":
      return {
        Type: "Task",
        Comment: state.comment,
        Resource: arns[state.task],
        TimeoutSeconds: state.timeoutSeconds,
        ResultPath: state.resultPath,
        ...retriers(state),
        ...catchers(state),
        Next: state.next,
      };
    case "callback":
      return {
        Type: "Task",
        Comment: state.comment,
        Resource: WAIT_FOR_TASK_TOKEN_RESOURCE,
        Parameters: {
          FunctionName: arns[state.task],
          Payload: { "input.$": "$", "taskToken.$": "$$.Task.Token" },
        },
        TimeoutSecondsPath: state.timeoutSecondsPath,
        HeartbeatSecondsPath: state.heartbeatSecondsPath,
        ResultPath: state.resultPath,
        ...retriers(state),
        ...catchers(state),
        Next: state.next,
      };
    case "choice":
      return {
        Type: "Choice",
        Comment: state.comment,
        Choices: state.choices.map((c) =>
          "stringEquals" in c
            ? { Variable: c.variable, StringEquals: c.stringEquals, Next: c.next }
            : { Variable: c.variable, NumericLessThan: c.numericLessThan, Next: c.next },
        ),
        Default: state.default,
      };
    case "wait":
      return { Type: "Wait", Comment: state.comment, SecondsPath: state.secondsPath, Next: state.next };
    case "succeed":
      return { Type: "Succeed", Comment: state.comment };
    case "fail":
      return { Type: "Fail", Comment: state.comment, Error: state.error, Cause: state.cause };
  }
}

/**
 * The Amazon States Language definition of a description. Plain tasks invoke their function directly (its
 * return value is the task's result); callback tasks use `lambda:invoke.waitForTaskToken` with the payload
 * `{input, taskToken}` — the same shapes the local runner hands its task handlers.
 */
export function toAmazonStatesLanguage(description: WorkflowDescription, taskArns: TaskArns): object {
  const states: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(description.states)) {
    if ((state.type === "task" || state.type === "callback") && !taskArns[state.task]) {
      throw new TypeError(`no function ARN for task ${state.task}`);
    }
    states[name] = render(state, taskArns);
  }
  return {
    Comment: description.comment,
    StartAt: description.startAt,
    TimeoutSeconds: description.timeoutSeconds,
    States: states,
  };
}
