// Job `nightly-evidence`: the previous UTC day's evidence bundle, built, signed and sealed once a day.

import * as z from "zod";
import { buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import { bundleDeps } from "#shared/evidence/evidence-service.ts";
import { defineJob } from "#shared/jobs/job.ts";

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

/**
 * The nightly bundle runs at the deployment's nightly time (UTC) and receives the scheduled event, whose `time` is the
 * scheduled time, from which it derives the previous UTC day. The builder re-analyzes each export's SQL text for the
 * report, so it ships the parser.
 */
export const job = defineJob({
  id: "nightly-evidence",
  needsParser: true,
  capabilities: {
    sessions: "chain",
    results: "read",
    evidence: true,
    policyArchive: "read",
    log: "read",
  },
  schedule: { kind: "daily" },
  description: "phigate: evidence bundle of the previous UTC day",
  retries: { attempts: 2, maxEventAgeSeconds: 7_200 },
  onFailure:
    "A failed nightly run is retried twice by Lambda and counted in the EvidenceBundleFailures metric; the day it " +
    'missed is rebuilt from the chain at any time by invoking the function with {"day":"YYYY-MM-DD"}.',
  failureCount: "EvidenceBundleFailures",
  run: async (deps, event) => {
    const { from, to } = nightlyRange(nightlyEventSchema.parse(event ?? {}), deps.clock.now());
    const built = await buildEvidenceBundle(bundleDeps(deps), from, to);
    const result: NightlyResult = {
      bundleId: built.bundleId,
      location: built.location,
      from: from.toISOString(),
      to: to.toISOString(),
      entries: built.manifest.counts.entries,
      sessions: built.manifest.counts.sessions,
    };
    deps.logger.info("nightly evidence bundle sealed", { ...result });
    return {
      result,
      counts: [
        ["EvidenceBundles", 1],
        ["EvidenceEntries", built.manifest.counts.entries],
      ],
    };
  },
});
