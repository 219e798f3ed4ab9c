// Step Functions stand-in (JSON 1.0): standard state machines executing their Amazon States Language, with task tokens.
// Pinned to the Amazon States Language specification and the Step Functions API reference: Task (Lambda ARN, the
// `lambda:invoke` and `lambda:invoke.waitForTaskToken` integrations), Choice, Wait, Pass, Succeed, Fail; InputPath,
// Parameters (`.$` paths, `$$` context), ResultPath (null keeps the input), OutputPath; Retry (IntervalSeconds,
// MaxAttempts, BackoffRate) and Catch with States.ALL / States.TaskFailed (any error but States.Timeout) /
// States.Timeout / States.HeartbeatTimeout; TimeoutSeconds(Path), HeartbeatSeconds(Path) (which must be smaller);
// StartExecution idempotent for the same name and input (ExecutionAlreadyExists otherwise); SendTaskSuccess output
// ≤ 256 KB; tokens of finished tasks answer TaskTimedOut or TaskDoesNotExist. Each state entered counts as a transition.

import { randomBytes, randomUUID } from "node:crypto";
import type { OfflineIam } from "./iam.ts";
import {
  jsonBody,
  jsonResponse,
  type LoopbackService,
  type ServiceCall,
  ServiceError,
  targetOperation,
  type WireResponse,
} from "./service.ts";

/** Invokes a function as a principal (the state machine's role); a function error comes back as `error`. */
export interface LambdaInvoker {
  invoke(
    functionArn: string,
    payload: unknown,
    caller: string,
  ): Promise<{ readonly result: unknown } | { readonly error: string; readonly cause: string }>;
}

type Json = unknown;
type State = Record<string, Json> & { Type: string; Next?: string; End?: boolean };

/** An execution's status and history counts. */
export interface Execution {
  readonly arn: string;
  readonly name: string;
  readonly input: string;
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";
  output: Json;
  error: string | undefined;
  cause: string | undefined;
  transitions: number;
  readonly visited: string[];
  readonly done: Promise<void>;
}

interface Waiting {
  readonly execution: Execution;
  resolve(output: Json): void;
  reject(error: StateError): void;
  heartbeat(): void;
}

class StateError extends Error {
  constructor(
    readonly error: string,
    readonly errorCause: string,
  ) {
    super(error);
  }
}

function getPath(root: Json, path: string): Json {
  if (path === "$" || path === "$$") return root;
  const parts = path.replace(/^\$\$?\./, "").split(".");
  let current: Json = root;
  for (const part of parts) {
    if (current === null || typeof current !== "object" || !(part in (current as object)))
      throw new StateError("States.Runtime", `the JSONPath ${path} could not be found in the input`);
    current = (current as Record<string, Json>)[part];
  }
  return current;
}

function setPath(root: Json, path: string | null | undefined, value: Json): Json {
  if (path === null) return root;
  if (path === undefined || path === "$") return value;
  const parts = path.replace(/^\$\./, "").split(".");
  const copy = structuredClone((root ?? {}) as Record<string, Json>);
  let current = copy;
  for (const part of parts.slice(0, -1)) {
    if (typeof current[part] !== "object" || current[part] === null) current[part] = {};
    current = current[part] as Record<string, Json>;
  }
  current[parts[parts.length - 1] as string] = value;
  return copy;
}

function applyParameters(template: Json, input: Json, context: Json): Json {
  if (Array.isArray(template)) return template.map((v) => applyParameters(v, input, context));
  if (template === null || typeof template !== "object") return template;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(template as Record<string, Json>)) {
    if (key.endsWith(".$")) {
      const path = String(value);
      out[key.slice(0, -2)] = path.startsWith("$$") ? getPath(context, path) : getPath(input, path);
    } else out[key] = applyParameters(value, input, context);
  }
  return out;
}

function matches(names: readonly string[], error: string): boolean {
  return names.some(
    (n) => n === error || n === "States.ALL" || (n === "States.TaskFailed" && error !== "States.Timeout"),
  );
}

function choiceHolds(rule: Record<string, Json>, input: Json): boolean {
  if (Array.isArray(rule.And))
    return (rule.And as Record<string, Json>[]).every((r) => choiceHolds(r, input));
  if (Array.isArray(rule.Or)) return (rule.Or as Record<string, Json>[]).some((r) => choiceHolds(r, input));
  if (rule.Not !== undefined) return !choiceHolds(rule.Not as Record<string, Json>, input);
  let value: Json;
  try {
    value = getPath(input, String(rule.Variable));
  } catch {
    if ("IsPresent" in rule) return rule.IsPresent === false;
    throw new StateError(
      "States.Runtime",
      `Invalid path ${String(rule.Variable)}: the choice state's condition path references an invalid value`,
    );
  }
  for (const [op, expected] of Object.entries(rule)) {
    switch (op) {
      case "Variable":
      case "Next":
        continue;
      case "StringEquals":
        return value === expected;
      case "NumericEquals":
        return typeof value === "number" && value === expected;
      case "NumericLessThan":
        return typeof value === "number" && value < Number(expected);
      case "NumericLessThanEquals":
        return typeof value === "number" && value <= Number(expected);
      case "NumericGreaterThan":
        return typeof value === "number" && value > Number(expected);
      case "NumericGreaterThanEquals":
        return typeof value === "number" && value >= Number(expected);
      case "BooleanEquals":
        return value === expected;
      case "IsPresent":
        return expected === true;
      case "IsNull":
        return (value === null) === expected;
      default:
        throw new Error(`Step Functions stand-in: choice operator ${op} is not implemented`);
    }
  }
  return false;
}

/** The Step Functions stand-in. */
export class StepFunctionsStandIn implements LoopbackService {
  readonly signingName = "states";
  readonly protocol = "awsJson1_0" as const;
  readonly errorNamespace = "com.amazonaws.swf.service.model";
  private readonly machines = new Map<string, { definition: Record<string, Json>; roleArn: string }>();
  readonly executions = new Map<string, Execution>();
  private readonly tokens = new Map<string, Waiting>();
  private readonly finishedTokens = new Map<string, "timed_out" | "done">();
  /** Functions whose next invocations fail with Lambda.TooManyRequestsException (tests inject throttling). */
  readonly throttleNext: string[] = [];
  /** The time scale of Wait states and retry intervals (1 = real time). */
  intervalScale = 1;

  constructor(
    private readonly region: string,
    private readonly account: string,
    private readonly lambda: LambdaInvoker,
    private readonly iam: OfflineIam,
  ) {}

  /** CreateStateMachine: the definition as rendered into the template. */
  createStateMachine(name: string, definition: string, roleArn: string): string {
    const arn = `arn:aws:states:${this.region}:${this.account}:stateMachine:${name}`;
    if (this.machines.has(arn))
      throw new ServiceError(400, "StateMachineAlreadyExists", `State Machine Already Exists: '${arn}'`);
    const parsed = JSON.parse(definition) as Record<string, Json>;
    if (typeof parsed.StartAt !== "string" || typeof parsed.States !== "object")
      throw new ServiceError(400, "InvalidDefinition", "Invalid State Machine Definition");
    this.machines.set(arn, { definition: parsed, roleArn });
    return arn;
  }

  async handle(call: ServiceCall): Promise<WireResponse> {
    const operation = targetOperation(call.request, "AWSStepFunctions");
    call.operation(operation);
    const input = jsonBody(call.request);
    switch (operation) {
      case "CreateStateMachine": {
        const arn = `arn:aws:states:${this.region}:${this.account}:stateMachine:${String(input.name)}`;
        call.authorize("states:CreateStateMachine", arn);
        return jsonResponse(this.protocol, {
          stateMachineArn: this.createStateMachine(
            String(input.name),
            String(input.definition),
            String(input.roleArn),
          ),
          creationDate: Date.now() / 1000,
        });
      }
      case "StartExecution":
        return jsonResponse(this.protocol, this.start(call, input));
      case "SendTaskSuccess":
      case "SendTaskFailure":
      case "SendTaskHeartbeat":
        return jsonResponse(this.protocol, this.signal(call, operation, input));
      case "DescribeExecution": {
        const execution = this.executions.get(String(input.executionArn));
        if (execution === undefined)
          throw new ServiceError(400, "ExecutionDoesNotExist", "Execution Does Not Exist");
        call.authorize("states:DescribeExecution", execution.arn);
        return jsonResponse(this.protocol, { executionArn: execution.arn, status: execution.status });
      }
      default:
        throw new ServiceError(
          400,
          "UnknownOperationException",
          `the stand-in does not implement ${operation}`,
        );
    }
  }

  /** The execution of a name on a state machine. */
  execution(stateMachineArn: string, name: string): Execution | undefined {
    return this.executions.get(`${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`);
  }

  /** Resolves once no execution is running (tests wait for the workflow to settle). */
  async settled(): Promise<void> {
    await Promise.all([...this.executions.values()].map((e) => e.done));
  }

  private start(call: ServiceCall, input: Record<string, Json>): unknown {
    const machineArn = String(input.stateMachineArn ?? "");
    const machine = this.machines.get(machineArn);
    call.authorize("states:StartExecution", machineArn);
    if (machine === undefined)
      throw new ServiceError(
        400,
        "StateMachineDoesNotExist",
        `State Machine Does Not Exist: '${machineArn}'`,
      );
    const name = String(input.name ?? randomUUID());
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name))
      throw new ServiceError(400, "InvalidName", `Invalid Name: '${name}'`);
    const text = String(input.input ?? "{}");
    const arn = `${machineArn.replace(":stateMachine:", ":execution:")}:${name}`;
    const existing = this.executions.get(arn);
    if (existing !== undefined) {
      if (existing.input === text && existing.status === "RUNNING")
        return { executionArn: arn, startDate: Date.now() / 1000 };
      throw new ServiceError(400, "ExecutionAlreadyExists", `Execution Already Exists: '${arn}'`);
    }
    let finish: () => void = () => undefined;
    const execution: Execution = {
      arn,
      name,
      input: text,
      status: "RUNNING",
      output: undefined,
      error: undefined,
      cause: undefined,
      transitions: 0,
      visited: [],
      done: new Promise<void>((resolve) => {
        finish = resolve;
      }),
    };
    this.executions.set(arn, execution);
    void this.run(execution, machine, JSON.parse(text)).finally(finish);
    return { executionArn: arn, startDate: Date.now() / 1000 };
  }

  private signal(call: ServiceCall, operation: string, input: Record<string, Json>): unknown {
    const token = String(input.taskToken ?? "");
    const waiting = this.tokens.get(token);
    if (waiting === undefined) {
      if (token.length === 0 || token.length > 2048)
        throw new ServiceError(400, "InvalidToken", "Invalid Token");
      const finished = this.finishedTokens.get(token);
      if (finished === "timed_out") throw new ServiceError(400, "TaskTimedOut", "Task Timed Out");
      throw new ServiceError(400, "TaskDoesNotExist", "Task Does Not Exist");
    }
    const machineArn = waiting.execution.arn.replace(":execution:", ":stateMachine:").replace(/:[^:]+$/, "");
    call.authorize(`states:${operation}`, machineArn);
    if (operation === "SendTaskHeartbeat") {
      waiting.heartbeat();
      return {};
    }
    this.tokens.delete(token);
    this.finishedTokens.set(token, "done");
    if (operation === "SendTaskSuccess") {
      const output = String(input.output ?? "");
      if (Buffer.byteLength(output) > 256 * 1024)
        throw new ServiceError(400, "InvalidOutput", "the output exceeds 256 KB");
      let parsed: Json;
      try {
        parsed = JSON.parse(output);
      } catch {
        throw new ServiceError(400, "InvalidOutput", "Invalid Output");
      }
      waiting.resolve(parsed);
    } else {
      waiting.reject(new StateError(String(input.error ?? ""), String(input.cause ?? "")));
    }
    return {};
  }

  private async run(
    execution: Execution,
    machine: { definition: Record<string, Json>; roleArn: string },
    input: Json,
  ): Promise<void> {
    const states = machine.definition.States as Record<string, State>;
    let name = String(machine.definition.StartAt);
    let data = input;
    try {
      for (;;) {
        const state = states[name];
        if (state === undefined) throw new StateError("States.Runtime", `no state ${name}`);
        execution.transitions++;
        execution.visited.push(name);
        const outcome = await this.step(execution, machine.roleArn, state, data);
        data = outcome.output;
        if (outcome.end === "succeed") {
          execution.status = "SUCCEEDED";
          execution.output = data;
          return;
        }
        if (outcome.end === "fail") {
          execution.status = "FAILED";
          execution.error = outcome.error;
          execution.cause = outcome.cause;
          return;
        }
        name = outcome.next as string;
      }
    } catch (error) {
      execution.status = "FAILED";
      execution.error = error instanceof StateError ? error.error : "States.Runtime";
      execution.cause = error instanceof StateError ? error.errorCause : String(error);
    }
  }

  private async step(
    execution: Execution,
    roleArn: string,
    state: State,
    input: Json,
  ): Promise<{ output: Json; next?: string; end?: "succeed" | "fail"; error?: string; cause?: string }> {
    const after = (output: Json) =>
      state.End === true ? { output, end: "succeed" as const } : { output, next: state.Next as string };
    switch (state.Type) {
      case "Succeed":
        return { output: input, end: "succeed" };
      case "Fail":
        return {
          output: input,
          end: "fail",
          error: String(state.Error ?? ""),
          cause: String(state.Cause ?? ""),
        };
      case "Pass":
        return after(setPath(input, state.ResultPath as string | null | undefined, state.Result ?? input));
      case "Wait": {
        const seconds =
          state.SecondsPath !== undefined
            ? Number(getPath(input, String(state.SecondsPath)))
            : Number(state.Seconds ?? 0);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, seconds) * 1000 * this.intervalScale));
        return after(input);
      }
      case "Choice": {
        for (const rule of (state.Choices ?? []) as Record<string, Json>[]) {
          if (choiceHolds(rule, input)) return { output: input, next: String(rule.Next) };
        }
        if (state.Default === undefined)
          throw new StateError("States.NoChoiceMatched", "no choice rule matched");
        return { output: input, next: String(state.Default) };
      }
      case "Task":
        return this.task(execution, roleArn, state, input, after);
      default:
        throw new StateError("States.Runtime", `the stand-in does not implement ${state.Type} states`);
    }
  }

  private async task(
    execution: Execution,
    roleArn: string,
    state: State,
    input: Json,
    after: (output: Json) => { output: Json; next?: string; end?: "succeed" },
  ): Promise<{ output: Json; next?: string; end?: "succeed" | "fail" }> {
    const retries = (state.Retry ?? []) as {
      ErrorEquals: string[];
      IntervalSeconds?: number;
      MaxAttempts?: number;
      BackoffRate?: number;
    }[];
    const attempts = retries.map(() => 0);
    for (;;) {
      try {
        const result = await this.attempt(execution, roleArn, state, input);
        const output = setPath(input, state.ResultPath as string | null | undefined, result);
        return after(state.OutputPath === undefined ? output : getPath(output, String(state.OutputPath)));
      } catch (error) {
        const failure = error instanceof StateError ? error : new StateError("States.Runtime", String(error));
        const index = retries.findIndex((r) => matches(r.ErrorEquals, failure.error));
        const retry = retries[index];
        if (retry !== undefined && (attempts[index] ?? 0) < (retry.MaxAttempts ?? 3)) {
          const n = attempts[index] ?? 0;
          attempts[index] = n + 1;
          const wait = (retry.IntervalSeconds ?? 1) * (retry.BackoffRate ?? 2) ** n;
          await new Promise((resolve) => setTimeout(resolve, wait * 1000 * this.intervalScale));
          continue;
        }
        const katch = (
          (state.Catch ?? []) as { ErrorEquals: string[]; ResultPath?: string | null; Next: string }[]
        ).find((c) => matches(c.ErrorEquals, failure.error));
        if (katch === undefined) throw failure;
        return {
          output: setPath(input, katch.ResultPath, { Error: failure.error, Cause: failure.errorCause }),
          next: katch.Next,
        };
      }
    }
  }

  private async invoke(roleArn: string, functionArn: string, payload: Json): Promise<Json> {
    const decision = this.iam.authorize({
      principal: roleArn,
      action: "lambda:InvokeFunction",
      resource: functionArn,
    });
    if (!decision.allowed)
      throw new StateError("Lambda.AWSLambdaException", `not authorized to invoke ${functionArn}`);
    const throttled = this.throttleNext.indexOf(functionArn);
    if (throttled >= 0) {
      this.throttleNext.splice(throttled, 1);
      throw new StateError("Lambda.TooManyRequestsException", "Rate Exceeded.");
    }
    const outcome = await this.lambda.invoke(functionArn, payload, "state-machine");
    if ("error" in outcome) throw new StateError(outcome.error, outcome.cause);
    return outcome.result;
  }

  private async attempt(execution: Execution, roleArn: string, state: State, input: Json): Promise<Json> {
    const effective = state.InputPath === undefined ? input : getPath(input, String(state.InputPath));
    const timeout =
      state.TimeoutSecondsPath !== undefined
        ? Number(getPath(input, String(state.TimeoutSecondsPath)))
        : Number(state.TimeoutSeconds ?? 99_999_999);
    const heartbeat =
      state.HeartbeatSecondsPath !== undefined
        ? Number(getPath(input, String(state.HeartbeatSecondsPath)))
        : state.HeartbeatSeconds === undefined
          ? undefined
          : Number(state.HeartbeatSeconds);
    if (!(timeout >= 1)) throw new StateError("States.Runtime", "TimeoutSeconds must be a positive integer");
    if (heartbeat !== undefined && !(heartbeat >= 1 && heartbeat < timeout))
      throw new StateError(
        "States.Runtime",
        "HeartbeatSeconds must be a positive integer smaller than TimeoutSeconds",
      );
    const resource = String(state.Resource);
    const token = randomBytes(456).toString("base64");
    const context = {
      Execution: { Id: execution.arn, Name: execution.name, Input: JSON.parse(execution.input) },
      Task: { Token: token },
    };
    const parameters =
      state.Parameters === undefined ? effective : applyParameters(state.Parameters, effective, context);
    return new Promise<Json>((resolve, reject) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        fn();
      };
      const fail = (error: StateError) => finish(() => reject(error));
      timers.push(
        setTimeout(() => {
          if (this.tokens.delete(token)) this.finishedTokens.set(token, "timed_out");
          fail(new StateError("States.Timeout", "the task timed out"));
        }, timeout * 1000),
      );
      const armHeartbeat = () => {
        if (heartbeat === undefined) return;
        const t = setTimeout(() => {
          if (this.tokens.delete(token)) this.finishedTokens.set(token, "timed_out");
          fail(new StateError("States.HeartbeatTimeout", "no heartbeat in time"));
        }, heartbeat * 1000);
        timers.push(t);
        return t;
      };
      let heartbeatTimer = armHeartbeat();
      if (resource.endsWith(":lambda:invoke.waitForTaskToken")) {
        const p = parameters as { FunctionName: string; Payload: Json };
        this.tokens.set(token, {
          execution,
          resolve: (output) => finish(() => resolve(output)),
          reject: fail,
          heartbeat: () => {
            if (heartbeatTimer !== undefined) clearTimeout(heartbeatTimer);
            heartbeatTimer = armHeartbeat();
          },
        });
        this.invoke(roleArn, p.FunctionName, p.Payload).catch((error: unknown) => {
          this.tokens.delete(token);
          fail(error instanceof StateError ? error : new StateError("States.Runtime", String(error)));
        });
      } else if (resource.endsWith(":lambda:invoke")) {
        const p = parameters as { FunctionName: string; Payload: Json };
        this.invoke(roleArn, p.FunctionName, p.Payload).then(
          (result) => finish(() => resolve({ Payload: result, StatusCode: 200 })),
          (error: unknown) =>
            fail(error instanceof StateError ? error : new StateError("States.Runtime", String(error))),
        );
      } else if (resource.startsWith("arn:aws:lambda:")) {
        this.invoke(roleArn, resource, parameters).then(
          (result) => finish(() => resolve(result)),
          (error: unknown) =>
            fail(error instanceof StateError ? error : new StateError("States.Runtime", String(error))),
        );
      } else fail(new StateError("States.Runtime", `the stand-in does not integrate ${resource}`));
    });
  }
}
