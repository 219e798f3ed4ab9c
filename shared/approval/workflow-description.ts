// The shape of a workflow description: states as data, validated, close enough to Amazon States Language to render mechanically.

import * as z from "zod";

/** The tasks a description may name; each is one function (a Lambda on AWS, a handler in the local runner). */
export const TASK_NAMES = [
  "plan-wait",
  "notify-approvers",
  "execute-approved",
  "close-denied",
  "close-expired",
  "close-failed",
] as const;

/** A task name. */
export type TaskName = (typeof TASK_NAMES)[number];

/** The error a token holder sends (`SendTaskFailure`) when the approval's own expiry has passed. */
export const APPROVAL_EXPIRED_ERROR = "phigate.ApprovalExpired";

/** Errors a retrier or catcher can match, with their Amazon States Language names. */
export const WORKFLOW_ERRORS = [
  "States.ALL",
  "States.Timeout",
  "States.HeartbeatTimeout",
  "States.TaskFailed",
  APPROVAL_EXPIRED_ERROR,
  // Transient failures of invoking a task (Lambda's service errors) and of what a task calls (`UnavailableError`).
  "Lambda.TooManyRequestsException",
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "UnavailableError",
] as const;

/** A workflow error name. */
export type WorkflowError = (typeof WORKFLOW_ERRORS)[number];

const stateName = z.string().regex(/^[A-Z][A-Za-z]{0,79}$/, "state names are PascalCase");
/** A reference into the state data: `$.a` or `$.a.b` (what both the runner and ASL's JsonPath read). */
const dataPath = z.string().regex(/^\$(\.[a-z][A-Za-z0-9]*){1,3}$/, "paths look like $.a.b");
/** Where a task's result goes: one top-level field (`$.x`) or nowhere (`null`: the input passes through). */
const resultPath = z
  .string()
  .regex(/^\$\.[a-z][A-Za-z0-9]*$/)
  .nullable();
const seconds = z.number().int().positive().max(31_536_000);
const errors = z.array(z.enum(WORKFLOW_ERRORS)).min(1);

const retrier = z.strictObject({
  errorEquals: errors,
  intervalSeconds: seconds,
  maxAttempts: z.number().int().min(1).max(10),
  backoffRate: z.number().min(1).max(10),
});

const catcher = z.strictObject({ errorEquals: errors, resultPath, next: stateName });

/** A task that runs and returns: its output lands at `resultPath`. */
const taskState = z.strictObject({
  type: z.literal("task"),
  task: z.enum(TASK_NAMES),
  comment: z.string(),
  timeoutSeconds: seconds,
  resultPath,
  retry: z.array(retrier),
  catch: z.array(catcher),
  next: stateName,
});

/**
 * A callback task (`waitForTaskToken`): the task receives `{input, taskToken}`, keeps the token, and the state
 * waits until someone sends task success (its output lands at `resultPath`) or failure, the timeout passes
 * (`States.Timeout`) or no heartbeat arrives for the heartbeat interval (`States.HeartbeatTimeout`).
 */
const callbackState = z.strictObject({
  type: z.literal("callback"),
  task: z.enum(TASK_NAMES),
  comment: z.string(),
  timeoutSecondsPath: dataPath,
  heartbeatSecondsPath: dataPath,
  resultPath,
  /** Retries of the worker's invocation (a retried callback task gets a fresh token and notifies at most once). */
  retry: z.array(retrier),
  catch: z.array(catcher),
  next: stateName,
});

const choiceRule = z.union([
  z.strictObject({ variable: dataPath, stringEquals: z.string(), next: stateName }),
  z.strictObject({ variable: dataPath, numericLessThan: z.number(), next: stateName }),
]);

const choiceState = z.strictObject({
  type: z.literal("choice"),
  comment: z.string(),
  choices: z.array(choiceRule).min(1),
  default: stateName,
});

const waitState = z.strictObject({
  type: z.literal("wait"),
  comment: z.string(),
  secondsPath: dataPath,
  next: stateName,
});

const succeedState = z.strictObject({ type: z.literal("succeed"), comment: z.string() });

const failState = z.strictObject({
  type: z.literal("fail"),
  comment: z.string(),
  error: z.string().min(1),
  cause: z.string().min(1),
});

/** One state. */
export const workflowStateSchema = z.discriminatedUnion("type", [
  taskState,
  callbackState,
  choiceState,
  waitState,
  succeedState,
  failState,
]);

/** One state of a description. */
export type WorkflowState = z.infer<typeof workflowStateSchema>;

/** The states a state can move to. */
export function successors(state: WorkflowState): string[] {
  switch (state.type) {
    case "task":
    case "callback":
      return [state.next, ...state.catch.map((c) => c.next)];
    case "choice":
      return [...state.choices.map((c) => c.next), state.default];
    case "wait":
      return [state.next];
    default:
      return [];
  }
}

/** A whole description: every transition names an existing state and every state is reachable from `startAt`. */
export const workflowDescriptionSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,79}$/),
    comment: z.string(),
    startAt: stateName,
    /** The whole execution's limit (ASL `TimeoutSeconds`). */
    timeoutSeconds: seconds,
    states: z.record(stateName, workflowStateSchema),
  })
  .superRefine((d, ctx) => {
    const names = new Set(Object.keys(d.states));
    if (!names.has(d.startAt))
      ctx.addIssue({ code: "custom", message: `startAt ${d.startAt} is not a state` });
    for (const [name, state] of Object.entries(d.states)) {
      for (const next of successors(state)) {
        if (!names.has(next)) ctx.addIssue({ code: "custom", message: `${name} moves to unknown ${next}` });
      }
    }
    const seen = new Set<string>();
    const queue = [d.startAt];
    while (queue.length > 0) {
      const name = queue.pop() as string;
      const state = d.states[name];
      if (seen.has(name) || state === undefined) continue;
      seen.add(name);
      queue.push(...successors(state));
    }
    for (const name of names) {
      if (!seen.has(name)) ctx.addIssue({ code: "custom", message: `${name} is unreachable` });
    }
  });

/** A validated workflow description. */
export type WorkflowDescription = z.infer<typeof workflowDescriptionSchema>;

/** Reads a `$.a.b` path from state data (undefined when absent). */
export function readPath(data: unknown, path: string): unknown {
  let value: unknown = data;
  for (const part of path.split(".").slice(1)) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Places a result at `resultPath` (`null` keeps the data as it was), as ASL's ResultPath does. */
export function writeResult(
  data: Readonly<Record<string, unknown>>,
  path: string | null,
  result: unknown,
): Record<string, unknown> {
  if (path === null) return { ...data };
  return { ...data, [path.slice(2)]: result };
}
