// Job `evidence-build`: builds the bundle an auditor requested (a recorded job), and marks it ready or failed.

import * as z from "zod";
import { ConfigurationError } from "#shared/errors.ts";
import { buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import {
  BUNDLE_ID_PATTERN,
  type EvidenceJobReason,
  type EvidenceJobStore,
} from "#shared/evidence/evidence-jobs.ts";
import { bundleDeps, resultOf } from "#shared/evidence/evidence-service.ts";
import { defineJob, type JobDeps, type JobRun } from "#shared/jobs/job.ts";
import { errorFields } from "#shared/log.ts";

const bundleId = z.string().regex(BUNDLE_ID_PATTERN);

/**
 * What the job is asked: `build` a recorded bundle, or mark it `fail`ed (its workflow's catch, after the build attempt
 * failed or ran out of time; `error` is the workflow's error name, e.g. `States.Timeout`).
 */
export const evidenceBuildEventSchema = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("build"), bundleId }),
  z.strictObject({ action: z.literal("fail"), bundleId, error: z.string().max(256).optional() }),
]);

/** What a run answers (and logs). */
export interface EvidenceBuildResult {
  readonly bundleId: string;
  readonly status: "ready" | "failed" | "unchanged";
}

/** The reason a workflow error stands for: a timeout, or any other failure. */
export function reasonOfError(error: string | undefined): EvidenceJobReason {
  return error !== undefined && /timeout|timed ?out/i.test(error) ? "timed_out" : "build_failed";
}

function storeOf(deps: JobDeps): EvidenceJobStore {
  const store = deps.evidenceJobs?.jobs?.store;
  if (store === undefined)
    throw new ConfigurationError("evidence-build runs only where evidence jobs are kept");
  return store;
}

async function fail(
  deps: JobDeps,
  id: string,
  reason: EvidenceJobReason,
): Promise<JobRun<EvidenceBuildResult>> {
  const changed = await storeOf(deps).finish(id, { status: "failed", reason, at: deps.clock.now() });
  if (changed) deps.logger.warn("evidence bundle failed", { bundleId: id, reason });
  return {
    result: { bundleId: id, status: changed ? "failed" : "unchanged" },
    counts: changed ? [["EvidenceBuildFailures", 1]] : [],
  };
}

async function build(deps: JobDeps, id: string): Promise<JobRun<EvidenceBuildResult>> {
  const store = storeOf(deps);
  const job = await store.get(id);
  if (job === undefined) throw new ConfigurationError("no evidence job of this id is recorded");
  // An attempt that began before may have written files (write-once): the bundle is failed, never rebuilt under its id.
  if (!(await store.begin(id, deps.clock.now()))) return fail(deps, id, "build_failed");
  try {
    const built = await buildEvidenceBundle(bundleDeps(deps), new Date(job.from), new Date(job.to), {
      bundleId: id,
      ...(job.previousSize === undefined ? {} : { previousSize: job.previousSize }),
    });
    await store.finish(id, { status: "ready", result: resultOf(built), at: deps.clock.now() });
    deps.logger.info("evidence bundle sealed", { bundleId: id, entries: built.manifest.counts.entries });
    return {
      result: { bundleId: id, status: "ready" },
      counts: [
        ["EvidenceBundles", 1],
        ["EvidenceEntries", built.manifest.counts.entries],
      ],
    };
  } catch (error) {
    deps.logger.error("evidence bundle not built", { bundleId: id, ...errorFields(error) });
    return fail(deps, id, "build_failed");
  }
}

/**
 * A requested bundle, built by its own workflow (on AWS a Step Functions execution per bundle: retries of the
 * invocation, a 15-minute budget, the catch that marks it failed) at most `concurrency` at a time. The builder writes
 * the manifest and its signature last and discards what it wrote when it fails, so a failed build never leaves a
 * bundle that looks complete. It re-analyzes each export's SQL text for the report, so it ships the parser.
 */
export const job = defineJob({
  id: "evidence-build",
  needsParser: true,
  capabilities: {
    sessions: "chain",
    results: "read",
    evidence: true,
    policyArchive: "read",
    log: "read",
    evidenceJobs: "run",
  },
  schedule: { kind: "requested", concurrency: 2 },
  description: "phigate: an evidence bundle an auditor requested",
  retries: { attempts: 0, maxEventAgeSeconds: 3_600 },
  onFailure:
    "Invoked synchronously by its own state machine, whose Retry rules repeat an invocation that never ran and whose " +
    "Catch marks the bundle failed (EvidenceBuildFailures metric and alarm); the auditor asks for it again.",
  failureCount: "EvidenceBuildFailures",
  run: async (deps, event) => {
    const parsed = evidenceBuildEventSchema.parse(event);
    return parsed.action === "build"
      ? build(deps, parsed.bundleId)
      : fail(deps, parsed.bundleId, reasonOfError(parsed.error));
  },
});
