// Every Lambda of the AWS host: one per route, one per approval task, and the scheduled ones (the CDK and bench read it).

import { TASK_NAMES, type TaskName } from "#shared/approval/workflow-description.ts";
import { ROUTES } from "#shared/http/routes.ts";
import { taskFunctionId } from "./capabilities.ts";

/** How a function is invoked. */
export type FunctionKind = "route" | "task" | "schedule";

/** One Lambda function. */
export interface FunctionDefinition {
  /** Stable id: names the construct, `PHIGATE_FUNCTION_ID` and its capabilities. */
  readonly id: string;
  readonly kind: FunctionKind;
  /** The entry point, relative to the repository root. */
  readonly entry: string;
  /** Whether the SQL parser's WASM ships next to the bundle. */
  readonly needsParser: boolean;
  /** Lambda timeout, seconds. */
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly description: string;
}

/** The function behind each approval task (`arn` of these is what the state machine invokes). */
export const TASK_FUNCTIONS: Readonly<Record<TaskName, FunctionDefinition>> = Object.fromEntries(
  TASK_NAMES.map((task) => {
    const runsSql = task === "execute-approved";
    return [
      task,
      {
        id: taskFunctionId(task),
        kind: "task",
        entry: `functions/task-${task}.ts`,
        needsParser: runsSql,
        // The state's own TimeoutSeconds (900 for Execute, 30 otherwise) bounds the task; the function a little less.
        timeoutSeconds: runsSql ? 600 : 25,
        memoryMb: runsSql ? 1024 : 512,
        description: `phigate approval task ${task}`,
      },
    ];
  }),
) as Record<TaskName, FunctionDefinition>;

/** The functions on an EventBridge schedule. */
const SCHEDULED_FUNCTIONS: readonly FunctionDefinition[] = [
  {
    id: "approval-keeper",
    kind: "schedule",
    entry: "functions/approval-keeper.ts",
    needsParser: false,
    timeoutSeconds: 50,
    memoryMb: 512,
    description:
      "phigate approval keeper: heartbeats, lost decisions re-sent, expired waits failed (every minute)",
  },
  {
    id: "nightly-evidence",
    kind: "schedule",
    entry: "functions/nightly-evidence.ts",
    // The builder re-analyzes each export's SQL text for the report.
    needsParser: true,
    timeoutSeconds: 900,
    memoryMb: 1024,
    description: "phigate nightly evidence bundle of the previous UTC day",
  },
];

/** Every function: routes first (in route-table order), then the tasks, then the scheduled ones. */
export const ALL_FUNCTIONS: readonly FunctionDefinition[] = [
  ...ROUTES.map(
    (route): FunctionDefinition => ({
      id: route.id,
      kind: "route",
      entry: route.entry,
      needsParser: route.needsParser,
      timeoutSeconds: 29,
      memoryMb: route.needsParser ? 1024 : 512,
      description: `phigate ${route.method} ${route.path}`,
    }),
  ),
  ...TASK_NAMES.map((task) => TASK_FUNCTIONS[task]),
  ...SCHEDULED_FUNCTIONS,
];
