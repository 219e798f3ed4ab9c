// The nightly report job as a verified principal, for tests that decide statements without a gateway.

import type { Principal } from "#shared/identity/principal.ts";

/** The demo policy's `nightly-report` job: GitHub's issuer, the main branch of acme/ehr-reports. */
export const NIGHTLY_PRINCIPAL: Principal = {
  issuer: "https://token.actions.githubusercontent.com",
  subject: "repo:acme/ehr-reports:ref:refs/heads/main",
  key: "nightly",
  audience: ["phigate"],
  groups: [],
  claims: {},
  expiresAt: 4_102_444_800,
} as Principal;
