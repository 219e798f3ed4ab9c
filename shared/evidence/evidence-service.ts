// POST /v1/evidence-bundles: an auditor asks for the signed evidence of a time range.

import * as z from "zod";
import { ForbiddenError } from "#shared/errors.ts";
import { type BundleDeps, buildEvidenceBundle } from "#shared/evidence/build-bundle.ts";
import type { Principal } from "#shared/identity/principal.ts";
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
});

/** The answer (contract: `bundleId`, `location`; the rest is an extension). */
export interface EvidenceBundleCreated {
  readonly bundleId: string;
  readonly location: string;
  /** SHA-256 of the signing key's DER SPKI: what `verify-evidence --trusted-key` expects. */
  readonly keyFingerprint: string;
  readonly entries: number;
  readonly sessions: number;
  readonly range: { readonly from: string; readonly to: string };
}

/** What the bundle builder needs, from the gateway's dependencies (a job may log through its own logger). */
export function bundleDeps(deps: SessionDeps & EvidenceDeps, logger: Logger = deps.logger): BundleDeps {
  return {
    sessions: deps.sessions,
    objects: deps.objects,
    policies: deps.policyArchive,
    catalogs: deps.catalogArchive,
    signer: deps.signer,
    evidence: deps.evidence,
    clock: deps.clock,
    logger,
  };
}

/** Builds a bundle for an auditor; anyone else is refused. */
export async function createEvidenceBundle(
  deps: SessionDeps & EvidenceDeps,
  principal: Principal,
  body: z.infer<typeof evidenceRequestSchema>,
): Promise<EvidenceBundleCreated> {
  if (!hasRole(deps.policy.current(), principal, "auditors", deps.policy.context)) {
    throw new ForbiddenError("not_an_auditor", "only auditors may create evidence bundles");
  }
  const built = await buildEvidenceBundle(bundleDeps(deps), new Date(body.from), new Date(body.to));
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
  };
}
