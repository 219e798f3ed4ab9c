// POST /v1/evidence-bundles: an auditor asks for the signed evidence of a time range.

import * as z from "zod";
import { ForbiddenError } from "#shared/errors.ts";
import { type BundleDeps, buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import type { Principal } from "#shared/identity/principal.ts";
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

/** Builds a bundle for an auditor; anyone else is refused. */
export async function createEvidenceBundle(
  deps: SessionDeps & EvidenceDeps & LogDeps,
  principal: Principal,
  body: z.infer<typeof evidenceRequestSchema>,
): Promise<EvidenceBundleCreated> {
  if (!hasRole(deps.policy.current(), principal, "auditors", deps.policy.context)) {
    throw new ForbiddenError("not_an_auditor", "only auditors may create evidence bundles");
  }
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
    keyFingerprint: built.manifest.signing.keyFingerprint,
    entries: built.manifest.counts.entries,
    sessions: built.manifest.counts.sessions,
    range: built.manifest.range,
    ...(built.manifest.log === undefined
      ? {}
      : { log: { start: built.manifest.log.start, end: built.manifest.log.end } }),
  };
}
