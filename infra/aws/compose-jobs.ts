// Composition of the background functions from their declarations: one workflow task each, and the scheduled jobs.

import type { TaskDeclaration } from "#shared/approval/tasks/task-declaration.ts";
import type { TaskHandler } from "#shared/approval/tasks/task-input.ts";
import type { Capabilities } from "#shared/capabilities.ts";
import type { JobDeclaration } from "#shared/jobs/job.ts";
import { type DeadlineContext, withInvocationDeadline } from "./adapters/invocation-deadline.ts";
import { type ComposeOptions, composeFunction, type PartsFor } from "./compose.ts";
import type { JobTelemetry, JobTelemetryFactory } from "./job-metrics.ts";

/**
 * Options of a job's composition. The entry chooses its telemetry (`tracedTelemetry`, or `metricsTelemetry` to keep
 * the X-Ray SDK out of its bundle); tests inject one that records instead of publishing.
 */
export interface JobOptions extends ComposeOptions {
  readonly telemetry: JobTelemetry | JobTelemetryFactory;
}

function telemetryOf(functionId: string, options: JobOptions): JobTelemetry {
  const { telemetry } = options;
  return typeof telemetry === "function" ? telemetry(`phigate-${functionId}`) : telemetry;
}

/**
 * The Lambda handler of one approval task: the state payload in (or `{input, taskToken}` for the callback task),
 * the task's result out — Step Functions passes the payload as is and takes the return value as the task result.
 * The entry hands over its task's declaration, so its bundle holds that task's code only.
 */
export async function serveTask<const C extends Capabilities>(
  task: TaskDeclaration<C>,
  parts: NoInfer<PartsFor<C>>,
  options: JobOptions,
): Promise<TaskHandler> {
  const telemetry = telemetryOf(task.id, options);
  const { deps } = await composeFunction(task, parts, { instrument: telemetry.instrument, ...options });
  return async (payload, context?: DeadlineContext) => {
    try {
      const result = await withInvocationDeadline(context, () => task.run(deps, payload));
      telemetry.count("TaskSucceeded");
      return result;
    } catch (error) {
      telemetry.count("TaskFailed");
      throw error;
    } finally {
      telemetry.flush();
    }
  };
}

/** The handler of a scheduled job: one run per scheduled event (or manual invocation), its counters published. */
export async function serveJob<const C extends Capabilities, R>(
  job: JobDeclaration<C, R>,
  parts: NoInfer<PartsFor<C>>,
  options: JobOptions,
): Promise<(event: unknown, context?: DeadlineContext) => Promise<R>> {
  const telemetry = telemetryOf(job.id, options);
  const { deps } = await composeFunction(job, parts, { instrument: telemetry.instrument, ...options });
  return async (event, context) => {
    try {
      const { result, counts } = await withInvocationDeadline(context, () => job.run(deps, event));
      for (const [name, value] of counts) telemetry.count(name, value);
      return result;
    } catch (error) {
      if (job.failureCount !== undefined) telemetry.count(job.failureCount);
      throw error;
    } finally {
      telemetry.flush();
    }
  };
}
