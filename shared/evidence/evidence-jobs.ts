// Evidence bundles built as a job: the job record, the ports that keep and start it, and what a status answer says.

/** What a bundle id looks like (`newOpaqueId("evb")`). */
export const BUNDLE_ID_PATTERN = /^evb_[0-9A-Za-z]{26}$/;

/** The longest a build may run (the job's whole budget; a build still `building` after it is reported `failed`). */
export const EVIDENCE_BUILD_BUDGET_SECONDS = 900;

/** How long a requested build may wait for its start (throttled by the bounded concurrency) before it counts as failed. */
export const EVIDENCE_START_BUDGET_SECONDS = 3_600;

/** Why a build failed: a code and a fixed sentence, never the error (it could name a key, a bucket or a value). */
export type EvidenceJobReason = "build_failed" | "timed_out";

/** The sentence each reason shows the auditor. */
export const EVIDENCE_JOB_REASONS: Readonly<Record<EvidenceJobReason, string>> = {
  build_failed: "the bundle could not be built; nothing under its location is a sealed bundle — ask again",
  timed_out: "the bundle was not built within its time budget; ask for a shorter range",
};

/** What a finished build adds to its record. */
export interface EvidenceJobResult {
  /** SHA-256 of the signing key's DER SPKI: what `verify-evidence --trusted-key` expects. */
  readonly keyFingerprint: string;
  readonly entries: number;
  readonly sessions: number;
  readonly log?: { readonly start: number; readonly end: number } | undefined;
}

/** One requested bundle. `building` until the job seals it (`ready`) or gives up (`failed`). */
export interface EvidenceJob {
  readonly bundleId: string;
  readonly status: "building" | "ready" | "failed";
  /** Where the bundle is (or will be) written: an S3 URI, or a folder under DATA_DIR. */
  readonly location: string;
  readonly from: string;
  readonly to: string;
  readonly previousSize?: number | undefined;
  /** The requesting principal's key (only auditors may read any status). */
  readonly requestedBy: string;
  readonly requestedAt: string;
  /** When the job began building (absent while it waits for a slot). */
  readonly startedAt?: string | undefined;
  readonly finishedAt?: string | undefined;
  readonly reason?: EvidenceJobReason | undefined;
  readonly result?: EvidenceJobResult | undefined;
}

/** Reads job records (the status route). */
export interface EvidenceJobReader {
  /** The record of a bundle id, or undefined. */
  get(bundleId: string): Promise<EvidenceJob | undefined>;
}

/** How a build ended. */
export type EvidenceJobOutcome =
  | { readonly status: "ready"; readonly result: EvidenceJobResult; readonly at: Date }
  | { readonly status: "failed"; readonly reason: EvidenceJobReason; readonly at: Date };

/** Keeps job records; every transition is conditional, so a record never leaves `ready` or `failed`. */
export interface EvidenceJobStore extends EvidenceJobReader {
  /** Records a new `building` job; `ConflictError` if the id exists. */
  create(job: EvidenceJob): Promise<void>;
  /**
   * Marks the build begun. False when it already was, or has finished: an attempt that began once may have written
   * files under the bundle's location, which are write-once, so it is never repeated.
   */
  begin(bundleId: string, at: Date): Promise<boolean>;
  /** Seals the record `ready` or `failed`; a record already finished is left as it is (false). */
  finish(bundleId: string, outcome: EvidenceJobOutcome): Promise<boolean>;
}

/** Starts the build of a recorded job (on AWS a Step Functions execution named by the bundle id). */
export interface EvidenceJobLauncher {
  /** Where the bundle of this id will be written. */
  location(bundleId: string): string;
  launch(bundleId: string): Promise<void>;
}

/**
 * How a host builds bundles. Absent `jobs`: synchronously in the request (the local host). `status`: where the status
 * route reads a bundle's state (on the local host, the sealed bundles themselves).
 */
export interface EvidenceJobDeps {
  readonly evidenceJobs?:
    | {
        readonly status: EvidenceJobReader;
        readonly jobs?:
          | { readonly store: EvidenceJobStore; readonly launcher: EvidenceJobLauncher }
          | undefined;
      }
    | undefined;
}

/** The status answer (`GET /v1/evidence-bundles/{id}`, and the `202` of a request). */
export interface EvidenceJobView {
  readonly bundleId: string;
  readonly status: "building" | "ready" | "failed";
  readonly location: string;
  readonly statusUrl: string;
  readonly range: { readonly from: string; readonly to: string };
  readonly requestedAt: string;
  readonly finishedAt?: string;
  readonly reason?: EvidenceJobReason;
  readonly message?: string;
  readonly keyFingerprint?: string;
  readonly entries?: number;
  readonly sessions?: number;
  readonly log?: { readonly start: number; readonly end: number };
}

/** The status route's path of a bundle. */
export function statusPathOf(bundleId: string): string {
  return `/v1/evidence-bundles/${bundleId}`;
}

/**
 * The state a record stands for at `now`. A record still `building` past its budgets (waiting longer than the start
 * budget, or building longer than the build budget) is `failed`/`timed_out`: its job was stopped without finishing it,
 * and what it left under the location has no manifest, so it never verifies.
 */
export function effectiveStatus(
  job: EvidenceJob,
  now: Date,
): { status: EvidenceJob["status"]; reason?: EvidenceJobReason } {
  if (job.status !== "building")
    return job.reason === undefined ? { status: job.status } : { status: job.status, reason: job.reason };
  const since = (iso: string) => (now.getTime() - Date.parse(iso)) / 1000;
  const budget = EVIDENCE_BUILD_BUDGET_SECONDS + 60;
  const overdue =
    job.startedAt === undefined
      ? since(job.requestedAt) > EVIDENCE_START_BUDGET_SECONDS + budget
      : since(job.startedAt) > budget;
  return overdue ? { status: "failed", reason: "timed_out" } : { status: "building" };
}

/** What the auditor is told of a job. */
export function viewOf(job: EvidenceJob, now: Date): EvidenceJobView {
  const { status, reason } = effectiveStatus(job, now);
  const result = status === "ready" ? job.result : undefined;
  return {
    bundleId: job.bundleId,
    status,
    location: job.location,
    statusUrl: statusPathOf(job.bundleId),
    range: { from: job.from, to: job.to },
    requestedAt: job.requestedAt,
    ...(job.finishedAt === undefined ? {} : { finishedAt: job.finishedAt }),
    ...(reason === undefined ? {} : { reason, message: EVIDENCE_JOB_REASONS[reason] }),
    ...(result === undefined
      ? {}
      : {
          keyFingerprint: result.keyFingerprint,
          entries: result.entries,
          sessions: result.sessions,
          ...(result.log === undefined ? {} : { log: result.log }),
        }),
  };
}
