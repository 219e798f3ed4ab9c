// Every Lambda of the AWS host, read from the declarations: one per route, workflow task, scheduled job, stream consumer.

import { TASK_NAMES } from "#shared/approval/workflow-description.ts";
import { type FunctionCapabilities, fullCapabilities } from "#shared/capabilities.ts";
import { type RouteDeclaration, routeMethods } from "#shared/http/route.ts";
import { loadRouteTable } from "#shared/http/route-table.ts";
import { type JobDeclaration, loadJobs } from "#shared/jobs/job.ts";
import { WORKFLOW_TASKS } from "#shared/query/workflow-tasks.ts";
import { STREAMS, type StreamDeclaration } from "./stream-declarations.ts";

/** One Lambda function. */
export type FunctionDefinition = {
  /** Stable id: names the construct, the entry, `PHIGATE_FUNCTION_ID`. */
  readonly id: string;
  /** The entry point, relative to the repository root: `functions/<id>.ts`. */
  readonly entry: string;
  readonly capabilities: FunctionCapabilities;
  /** Whether the SQL parser's WASM ships next to the bundle. */
  readonly needsParser: boolean;
  /** Lambda timeout, seconds. */
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly description: string;
} & (
  | { readonly kind: "route"; readonly route: RouteDeclaration }
  | { readonly kind: "task" }
  | { readonly kind: "schedule"; readonly job: JobDeclaration }
  | { readonly kind: "stream"; readonly stream: StreamDeclaration }
);

/** Memory of a function: the parser's WASM and the statements it analyzes want more. */
const memoryMb = (needsParser: boolean): number => (needsParser ? 1024 : 512);

/**
 * The functions of the given declarations: routes first (in table order), then the tasks (in the states' order), then
 * the jobs. A route has API Gateway's 29 s; a task the state's own timeout bounds (900 s for the statement runner, 30
 * otherwise; the function a little less); a job on a rate finishes before the next run, the daily one has 15 minutes.
 */
export function functionsOf(
  routes: readonly RouteDeclaration[],
  jobs: readonly JobDeclaration[],
  streams: readonly StreamDeclaration[] = STREAMS,
): readonly FunctionDefinition[] {
  return [
    ...routes.map(
      (route): FunctionDefinition => ({
        kind: "route",
        route,
        id: route.id,
        entry: `functions/${route.id}.ts`,
        capabilities: fullCapabilities(route.capabilities),
        needsParser: route.needsParser,
        timeoutSeconds: 29,
        memoryMb: memoryMb(route.needsParser),
        description: `phigate ${routeMethods(route).join("|")} ${route.path}`,
      }),
    ),
    ...TASK_NAMES.map((name): FunctionDefinition => {
      const task = WORKFLOW_TASKS[name];
      const capabilities = fullCapabilities(task.capabilities);
      return {
        kind: "task",
        id: task.id,
        entry: `functions/${task.id}.ts`,
        capabilities,
        needsParser: task.needsParser,
        timeoutSeconds: capabilities.database ? 600 : 25,
        memoryMb: memoryMb(task.needsParser),
        description: `phigate approval task ${name}`,
      };
    }),
    ...jobs.map(
      (job): FunctionDefinition => ({
        kind: "schedule",
        job,
        id: job.id,
        entry: `functions/${job.id}.ts`,
        capabilities: fullCapabilities(job.capabilities),
        needsParser: job.needsParser,
        timeoutSeconds: job.schedule.kind === "every" ? job.schedule.minutes * 60 - 10 : 900,
        memoryMb: memoryMb(job.needsParser),
        description: job.description,
      }),
    ),
    ...streams.map(
      (stream): FunctionDefinition => ({
        kind: "stream",
        stream,
        id: stream.id,
        entry: `functions/${stream.id}.ts`,
        capabilities: fullCapabilities(stream.capabilities),
        needsParser: stream.needsParser,
        timeoutSeconds: 120,
        memoryMb: memoryMb(stream.needsParser),
        description: stream.description,
      }),
    ),
  ];
}

/** The gateway's functions: its route table, the workflow's tasks and its jobs. */
export async function loadFunctions(): Promise<readonly FunctionDefinition[]> {
  const [routes, jobs] = await Promise.all([loadRouteTable(), loadJobs()]);
  return functionsOf(routes.routes, jobs);
}
