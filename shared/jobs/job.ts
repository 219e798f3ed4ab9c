// A scheduled job declared once, in its module under shared/jobs/: when it runs, what it uses, its code.

import { readdir } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ApprovalDeps } from "#shared/approval/deps.ts";
import type { Capabilities, EntryDeclaration } from "#shared/capabilities.ts";
import { ConfigurationError } from "#shared/errors.ts";
import type { EvidenceJobDeps } from "#shared/evidence/evidence-jobs.ts";
import type { EvidenceDeps } from "#shared/evidence/evidence-service.ts";
import type { OrphanDeps } from "#shared/sessions/orphans.ts";

/** Everything a job may need (both composition roots build it). */
export type JobDeps = ApprovalDeps & EvidenceDeps & EvidenceJobDeps & OrphanDeps;

/**
 * When a job runs: every few minutes, once a day at the deployment's nightly time (UTC), or when the gateway starts it
 * (`requested`: no schedule; its host runs it as a workflow of its own, e.g. an evidence bundle an auditor asked for).
 */
export type JobSchedule =
  | { readonly kind: "every"; readonly minutes: number }
  | { readonly kind: "daily" }
  | { readonly kind: "requested"; readonly concurrency: number };

/** What one run did: its result (returned and logged) and the counters it adds to. */
export interface JobRun<R> {
  readonly result: R;
  readonly counts: readonly (readonly [name: string, value: number])[];
}

const JOB = Symbol.for("phigate.job");

/**
 * One scheduled job. Its module under shared/jobs/ is named after its id and exports it as `job`; its Lambda entry
 * (`functions/<id>.ts`) composes it.
 */
export interface JobDeclaration<C extends Capabilities = Capabilities, R = unknown>
  extends EntryDeclaration<C> {
  readonly schedule: JobSchedule;
  /** What the schedule's rule says about the job. */
  readonly description: string;
  /** Retries of a failed run, and how long a run may wait to be retried. */
  readonly retries: { readonly attempts: number; readonly maxEventAgeSeconds: number };
  /** Why a failed run needs no dead-letter queue (how it is made good). */
  readonly onFailure: string;
  /** The counter a failed run adds 1 to, if any. */
  readonly failureCount?: string;
  /** One run for a scheduled event (or a manual invocation's payload). */
  readonly run: (deps: JobDeps, event: unknown) => Promise<JobRun<R>>;
  readonly [JOB]: true;
}

/** Declares a job (the capabilities' literal types are kept for the entry's parts). */
export function defineJob<const C extends Capabilities, R>(
  job: Omit<JobDeclaration<C, R>, typeof JOB>,
): JobDeclaration<C, R> {
  return { ...job, [JOB]: true };
}

/** Where the gateway's jobs are declared (this folder). */
export const JOBS_DIRECTORY = new URL("./", import.meta.url);

/** Every job declared in the given folders (default: the gateway's own), in id order. */
export async function loadJobs(directories: readonly URL[] = [JOBS_DIRECTORY]): Promise<JobDeclaration[]> {
  const jobs: JobDeclaration[] = [];
  const self = basename(fileURLToPath(import.meta.url));
  for (const directory of directories) {
    const files = (await readdir(fileURLToPath(directory)))
      .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts") && name !== self)
      .sort();
    for (const file of files) {
      const module: { job?: { [JOB]?: unknown; id?: unknown } } = await import(
        pathToFileURL(fileURLToPath(new URL(file, directory))).href
      );
      const job = module.job;
      if (job?.[JOB] !== true)
        throw new ConfigurationError(`${file} does not export a job declaration as \`job\``);
      if (job.id !== basename(file, ".ts")) {
        throw new ConfigurationError(
          `${file} declares the job ${String(job.id)}; its file must be named after it`,
        );
      }
      jobs.push(job as JobDeclaration);
    }
  }
  return jobs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
