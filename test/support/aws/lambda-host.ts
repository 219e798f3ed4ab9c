// Runs the bundled functions as Lambda runs them: one child process per execution environment, the function's
// environment from the template plus what Lambda adds (region, credentials of its role, task root), init once per
// environment, a deadline per invocation, more environments when all are busy (up to reserved concurrency).
// Pinned to the Lambda developer guide: "Defined runtime environment variables", the 6 MB synchronous payload limit
// (Function.ResponseSizeTooLarge), "Task timed out after N seconds".

import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { LambdaInvoker } from "./step-functions.ts";

/** What one function needs to run. */
export interface HostedFunction {
  readonly id: string;
  readonly arn: string;
  readonly name: string;
  /** The bundle's directory (index.mjs, policy.yaml, the parser's WASM). */
  readonly dir: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly reservedConcurrency: number;
}

/** One invocation's outcome: the handler's JSON, or the function error Lambda reports. */
export type InvokeOutcome = { readonly result: unknown } | { readonly error: string; readonly cause: string };

interface Environment {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  busy: boolean;
}

const CHILD = fileURLToPath(new URL("./lambda-child.mjs", import.meta.url));
const MAX_PAYLOAD = 6 * 1024 * 1024;

/** The functions, their environments and their logs. */
export class LambdaHost implements LambdaInvoker {
  private readonly byArn = new Map<string, HostedFunction>();
  private readonly environments = new Map<string, Environment[]>();
  /** Every line a function wrote (stdout and stderr), per function id. */
  readonly logs = new Map<string, string[]>();
  /** Invocations per function id, and cold starts. */
  readonly invocations = new Map<string, number>();
  readonly coldStarts = new Map<string, number>();

  constructor(
    functions: readonly HostedFunction[],
    private readonly runtimeEnv: (fn: HostedFunction) => Record<string, string>,
  ) {
    for (const fn of functions) this.byArn.set(fn.arn, fn);
  }

  /** The function of an id. */
  byId(id: string): HostedFunction {
    const fn = [...this.byArn.values()].find((f) => f.id === id);
    if (fn === undefined) throw new Error(`no function ${id}`);
    return fn;
  }

  /** The function id behind an ARN. */
  /** Every hosted function. */
  functions(): Iterable<HostedFunction> {
    return this.byArn.values();
  }

  idOfArn(arn: string): string | undefined {
    return this.byArn.get(arn)?.id;
  }

  /** Invokes by function id (API Gateway, EventBridge and tests call this). */
  invokeById(id: string, event: unknown): Promise<InvokeOutcome> {
    return this.invoke(this.byId(id).arn, event, "test");
  }

  async invoke(functionArn: string, payload: unknown, _caller: string): Promise<InvokeOutcome> {
    const fn = this.byArn.get(functionArn.replace(/:\$LATEST$/, ""));
    if (fn === undefined)
      return { error: "Lambda.ResourceNotFoundException", cause: `Function not found: ${functionArn}` };
    const request = JSON.stringify(payload ?? null);
    if (Buffer.byteLength(request) > MAX_PAYLOAD)
      return {
        error: "Lambda.RequestTooLargeException",
        cause: "Request must be smaller than 6291456 bytes",
      };
    this.invocations.set(fn.id, (this.invocations.get(fn.id) ?? 0) + 1);
    const env = await this.acquire(fn);
    if ("error" in env) return env;
    const id = randomUUID();
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    try {
      return await new Promise<InvokeOutcome>((resolve) => {
        const timer = setTimeout(() => {
          env.child.kill("SIGKILL");
          resolve({
            error: "Sandbox.Timedout",
            cause: JSON.stringify({ errorMessage: `Task timed out after ${fn.timeoutSeconds}.00 seconds` }),
          });
        }, fn.timeoutSeconds * 1000);
        const onMessage = (message: {
          type: string;
          id?: string;
          result?: string | null;
          errorType?: string;
          errorMessage?: string;
        }) => {
          if (message.id !== id) return;
          clearTimeout(timer);
          env.child.off("message", onMessage);
          env.child.off("exit", onExit);
          if (message.type === "result") {
            const text = message.result ?? "null";
            if (Buffer.byteLength(text) > MAX_PAYLOAD) {
              resolve({
                error: "Function.ResponseSizeTooLarge",
                cause: "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
              });
            } else resolve({ result: JSON.parse(text) });
          } else {
            resolve({
              error: message.errorType ?? "Error",
              cause: JSON.stringify({ errorType: message.errorType, errorMessage: message.errorMessage }),
            });
          }
        };
        const onExit = () => {
          clearTimeout(timer);
          resolve({ error: "Runtime.ExitError", cause: "the runtime exited during the invocation" });
        };
        env.child.on("message", onMessage);
        env.child.once("exit", onExit);
        // A runtime that died between invocations (its exit not yet seen) refuses the message: as Lambda, an error.
        env.child.send(
          { type: "invoke", id, event: payload, deadline, functionArn: fn.arn, requestId: id },
          (error) => {
            if (error !== null) onExit();
          },
        );
      });
    } finally {
      env.busy = false;
      // A runtime killed at its timeout is gone even before its exit is seen: never hand it another invocation.
      if (env.child.killed || env.child.exitCode !== null || env.child.signalCode !== null) {
        const list = this.environments.get(fn.id) ?? [];
        this.environments.set(
          fn.id,
          list.filter((e) => e !== env),
        );
      }
    }
  }

  /** Stops every environment. */
  async close(): Promise<void> {
    const all = [...this.environments.values()].flat();
    this.environments.clear();
    await Promise.all(
      all.map(
        (env) =>
          new Promise<void>((resolve) => {
            if (env.child.exitCode !== null || env.child.signalCode !== null) return resolve();
            env.child.once("exit", () => resolve());
            env.child.kill("SIGTERM");
          }),
      ),
    );
  }

  private async acquire(fn: HostedFunction): Promise<Environment | { error: string; cause: string }> {
    const list = this.environments.get(fn.id) ?? [];
    this.environments.set(fn.id, list);
    for (;;) {
      const idle = list.find(
        (e) => !e.busy && !e.child.killed && e.child.exitCode === null && e.child.signalCode === null,
      );
      if (idle !== undefined) {
        idle.busy = true;
        return idle;
      }
      if (list.length >= fn.reservedConcurrency)
        return { error: "Lambda.TooManyRequestsException", cause: "Rate Exceeded." };
      const env = this.spawn(fn);
      env.busy = true;
      list.push(env);
      try {
        await env.ready;
        return env;
      } catch (error) {
        list.splice(list.indexOf(env), 1);
        return { error: "Runtime.InitError", cause: error instanceof Error ? error.message : String(error) };
      }
    }
  }

  private spawn(fn: HostedFunction): Environment {
    this.coldStarts.set(fn.id, (this.coldStarts.get(fn.id) ?? 0) + 1);
    const child = fork(CHILD, [], {
      cwd: fn.dir,
      env: { ...fn.environment, ...this.runtimeEnv(fn), LAMBDA_TASK_ROOT: fn.dir },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      execArgv: [`--max-old-space-size=${fn.memoryMb}`],
    });
    const lines = this.logs.get(fn.id) ?? [];
    this.logs.set(fn.id, lines);
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding("utf8");
      stream?.on("data", (text: string) => lines.push(...text.split("\n").filter((l) => l.length > 0)));
    }
    const ready = new Promise<void>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`${fn.id} exited during init (code ${code})`)));
      child.on("message", (message: { type: string; errorType?: string; errorMessage?: string }) => {
        if (message.type === "ready") resolve();
        if (message.type === "init-error")
          reject(new Error(`${fn.id} init failed: ${message.errorType}: ${message.errorMessage}`));
      });
    });
    ready.catch(() => undefined);
    return { child, ready, busy: false };
  }
}
