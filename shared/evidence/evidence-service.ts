// POST /v1/evidence-bundles: an auditor asks for the signed evidence of a time range.

import * as z from "zod";
import { ForbiddenError, NotFoundError } from "#shared/errors.ts";
import {
  type BuiltBundle,
  type BundleDeps,
  buildEvidenceBundle,
  checkRange,
} from "#shared/evidence/build-bundle.ts";
import {
  BUNDLE_ID_PATTERN,
  type EvidenceJobDeps,
  type EvidenceJobResult,
  type EvidenceJobView,
  statusPathOf,
  viewOf,
} from "#shared/evidence/evidence-jobs.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { newOpaqueId } from "#shared/ids.ts";
import type { LogDeps } from "#shared/log/log-ports.ts";
import type { Logger } from "#shared/log.ts";
import { hasRole } from "#shared/policy/roles.ts";
import type { CatalogArchive, EvidenceStore, PolicyArchive, Signer } from "#shared/ports.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/** What evidence needs besides the session services. */
export interface EvidenceDeps {
  readonly signer: Signer;
  readonly evidence: EvidenceStore;
  readonly policyArchive: PolicyArchive;
  readonly catalogArchive: CatalogArchive;
}

/** The request body: ISO-8601 instants with an offset (`Z` or `+hh:mm`); `from` inclusive, `to` exclusive. */
export const evidenceRequestSchema = z.strictObject({
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  /** The log size the auditor's previous bundle ended at (its `log.end`): the new bundle proves it extends it. */
  previousSize: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
});

/** The answer (contract: `bundleId`, `location`; the rest is an extension). */
export interface EvidenceBundleCreated {
  readonly bundleId: string;
  readonly location: string;
  /** SHA-256 of the signing key's DER SPKI: what `verify-evidence --trusted-key` expects. */
  readonly keyFingerprint: string;
  readonly entries: number;
  readonly sessions: number;
  /** The range as log leaves [start, end): pass `end` as the next request's `previousSize`. */
  readonly log?: { readonly start: number; readonly end: number };
  readonly range: { readonly from: string; readonly to: string };
}

/** What the bundle builder needs, from the gateway's dependencies (a job may log through its own logger). */
export function bundleDeps(
  deps: SessionDeps & EvidenceDeps & LogDeps,
  logger: Logger = deps.logger,
): BundleDeps {
  return {
    sessions: deps.sessions,
    objects: deps.objects,
    policies: deps.policyArchive,
    catalogs: deps.catalogArchive,
    signer: deps.signer,
    evidence: deps.evidence,
    clock: deps.clock,
    logger,
    ...(deps.log === undefined ? {} : { log: deps.log }),
  };
}

/** Refuses anyone but an auditor. */
function requireAuditor(deps: SessionDeps, principal: Principal, doing: string): void {
  if (!hasRole(deps.policy.current(), principal, "auditors", deps.policy.context)) {
    throw new ForbiddenError("not_an_auditor", `only auditors may ${doing}`);
  }
}

/** What a sealed bundle's record keeps of it. */
export function resultOf(built: BuiltBundle): EvidenceJobResult {
  return {
    keyFingerprint: built.manifest.signing.keyFingerprint,
    entries: built.manifest.counts.entries,
    sessions: built.manifest.counts.sessions,
    ...(built.manifest.log === undefined
      ? {}
      : { log: { start: built.manifest.log.start, end: built.manifest.log.end } }),
  };
}

/** Builds a bundle for an auditor, in the request; anyone else is refused. */
export async function createEvidenceBundle(
  deps: SessionDeps & EvidenceDeps & LogDeps,
  principal: Principal,
  body: z.infer<typeof evidenceRequestSchema>,
): Promise<EvidenceBundleCreated & { readonly status: "ready"; readonly statusUrl: string }> {
  requireAuditor(deps, principal, "create evidence bundles");
  const built = await buildEvidenceBundle(
    bundleDeps(deps),
    new Date(body.from),
    new Date(body.to),
    body.previousSize === undefined ? {} : { previousSize: body.previousSize },
  );
  deps.logger.info("evidence bundle made", {
    bundleId: built.bundleId,
    principal: principal.key,
    entries: built.manifest.chain.entries,
  });
  return {
    bundleId: built.bundleId,
    location: built.location,
    status: "ready",
    statusUrl: statusPathOf(built.bundleId),
    range: built.manifest.range,
    ...resultOf(built),
  };
}

/**
 * Records an auditor's bundle as a job and starts its build (the AWS host): the answer names the bundle and where it
 * will be, `building`. A range the builder would refuse is refused here, before anything is recorded.
 */
export async function requestEvidenceBundle(
  deps: SessionDeps & EvidenceJobDeps,
  principal: Principal,
  body: z.infer<typeof evidenceRequestSchema>,
): Promise<EvidenceJobView> {
  requireAuditor(deps, principal, "create evidence bundles");
  const jobs = deps.evidenceJobs?.jobs;
  if (jobs === undefined) throw new TypeError("this host builds evidence bundles in the request");
  const now = deps.clock.now();
  checkRange(new Date(body.from), new Date(body.to), now);
  const bundleId = newOpaqueId("evb");
  const job = {
    bundleId,
    status: "building" as const,
    location: jobs.launcher.location(bundleId),
    from: new Date(body.from).toISOString(),
    to: new Date(body.to).toISOString(),
    previousSize: body.previousSize,
    requestedBy: principal.key,
    requestedAt: now.toISOString(),
  };
  await jobs.store.create(job);
  try {
    await jobs.launcher.launch(bundleId);
  } catch (error) {
    await jobs.store
      .finish(bundleId, { status: "failed", reason: "build_failed", at: deps.clock.now() })
      .catch(() => undefined);
    throw error;
  }
  deps.logger.info("evidence bundle requested", { bundleId, principal: principal.key });
  return viewOf(job, now);
}

/** The state of a requested bundle, for an auditor (a bundle this host does not know is 404). */
export async function evidenceBundleStatus(
  deps: SessionDeps & EvidenceJobDeps,
  principal: Principal,
  bundleId: string,
): Promise<EvidenceJobView> {
  requireAuditor(deps, principal, "read evidence bundles");
  const job = BUNDLE_ID_PATTERN.test(bundleId) ? await deps.evidenceJobs?.status.get(bundleId) : undefined;
  if (job === undefined) throw new NotFoundError("no such evidence bundle");
  return viewOf(job, deps.clock.now());
}
