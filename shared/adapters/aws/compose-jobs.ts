// Composition of the background functions: one workflow task each, the keeper's sweep, and the nightly bundle.

import * as z from "zod";
import type { ApprovalTaskDeps } from "#shared/approval/deps.ts";
import { sweepApprovals } from "#shared/approval/keeper.ts";
import type { TaskHandler } from "#shared/approval/tasks/task-input.ts";
import type { TaskName } from "#shared/approval/workflow-description.ts";
import { buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import { bundleDeps } from "#shared/evidence/evidence-service.ts";
import { failOrphanedSessions } from "#shared/sessions/orphans.ts";
import { taskFunctionId } from "./capabilities.ts";
import { type AwsParts, type ComposeOptions, composeFunction } from "./compose.ts";
import { DynamoSessionStore } from "./dynamo-session-store.ts";
import { type DeadlineContext, withInvocationDeadline } from "./invocation-deadline.ts";
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

/** One task's logic (what `createApprovalTasks` binds for the local runner), taken by its entry directly. */
export type TaskLogic = (deps: ApprovalTaskDeps, payload: unknown) => Promise<unknown>;

/**
 * The Lambda handler of one approval task: the state payload in (or `{input, taskToken}` for the callback task),
 * the task's result out — Step Functions passes the payload as is and takes the return value as the task result.
 * The entry hands over its task's function, so its bundle holds that task's code only.
 */
export async function composeTask(
  task: TaskName,
  logic: TaskLogic,
  parts: AwsParts = {},
  options: JobOptions,
): Promise<TaskHandler> {
  const functionId = taskFunctionId(task);
  const telemetry = telemetryOf(functionId, options);
  const { deps } = await composeFunction(functionId, parts, { instrument: telemetry.instrument, ...options });
  const handler: TaskHandler = (payload) => logic(deps, payload);
  return async (payload, context?: DeadlineContext) => {
    try {
      const result = await withInvocationDeadline(context, () => handler(payload));
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

/** The keeper's handler: one sweep over the open approvals per scheduled invocation. */
export async function composeKeeper(
  parts: AwsParts,
  options: JobOptions,
): Promise<() => Promise<{ heartbeats: number; resent: number; orphans: number }>> {
  const telemetry = telemetryOf("approval-keeper", options);
  const { deps, config } = await composeFunction("approval-keeper", parts, {
    instrument: telemetry.instrument,
    ...options,
  });
  const sessions = deps.sessions;
  return async () => {
    try {
      const swept = await sweepApprovals(deps);
      telemetry.count("Heartbeats", swept.heartbeats);
      telemetry.count("DecisionsResent", swept.resent);
      // Sessions a timed-out function left running are failed closed (only the local host could repair them before).
      const orphans =
        sessions instanceof DynamoSessionStore
          ? await failOrphanedSessions(deps, (before) => sessions.running(before), config.orphanAfterSeconds)
          : 0;
      telemetry.count("OrphanedSessions", orphans);
      return { ...swept, orphans };
    } finally {
      telemetry.flush();
    }
  };
}

/** The scheduled event (only its time is read) or a manual run for one day (`{"day": "YYYY-MM-DD"}`). */
export const nightlyEventSchema = z.looseObject({
  time: z.iso.datetime({ offset: true }).optional(),
  day: z.iso.date().optional(),
});

/** The UTC day a nightly run covers: the given day, else the day before the event's (or the current) time. */
export function nightlyRange(event: z.infer<typeof nightlyEventSchema>, now: Date): { from: Date; to: Date } {
  if (event.day !== undefined) {
    const from = new Date(`${event.day}T00:00:00.000Z`);
    return { from, to: new Date(from.getTime() + 86_400_000) };
  }
  const at = event.time === undefined ? now : new Date(event.time);
  const to = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  return { from: new Date(to.getTime() - 86_400_000), to };
}

/** What a nightly run answers (and logs). */
export interface NightlyResult {
  readonly bundleId: string;
  readonly location: string;
  readonly from: string;
  readonly to: string;
  readonly entries: number;
  readonly sessions: number;
}

/** The nightly handler: builds, signs and seals the bundle of the previous UTC day. */
export async function composeNightlyEvidence(
  parts: AwsParts,
  options: JobOptions,
): Promise<(event: unknown) => Promise<NightlyResult>> {
  const telemetry = telemetryOf("nightly-evidence", options);
  const { deps, logger } = await composeFunction("nightly-evidence", parts, {
    instrument: telemetry.instrument,
    ...options,
  });
  return async (event, context?: DeadlineContext) => {
    const { from, to } = nightlyRange(nightlyEventSchema.parse(event ?? {}), deps.clock.now());
    try {
      const built = await withInvocationDeadline(context, () =>
        buildEvidenceBundle(bundleDeps(deps, logger), from, to),
      );
      telemetry.count("EvidenceBundles");
      telemetry.count("EvidenceEntries", built.manifest.counts.entries);
      const result: NightlyResult = {
        bundleId: built.bundleId,
        location: built.location,
        from: from.toISOString(),
        to: to.toISOString(),
        entries: built.manifest.counts.entries,
        sessions: built.manifest.counts.sessions,
      };
      logger.info("nightly evidence bundle sealed", { ...result });
      return result;
    } catch (error) {
      telemetry.count("EvidenceBundleFailures");
      throw error;
    } finally {
      telemetry.flush();
    }
  };
}
