// Polls a requested evidence bundle's status route on the stand-in API until it is no longer `building`.

import { expect } from "vitest";
import type { Deployment } from "./deployment.ts";

/** A bundle's status answer. */
export interface BundleStatus {
  readonly bundleId: string;
  readonly status: "building" | "ready" | "failed";
  readonly location: string;
  readonly entries: number;
  readonly keyFingerprint: string;
  readonly reason?: string;
  readonly message?: string;
}

/** Asks `statusUrl` (as the subject `sub`'s CI token) every half second until `ready` or `failed`, for at most 90 s. */
export async function awaitBundle(
  d: Deployment,
  accepted: { readonly statusUrl: string },
  sub: string,
): Promise<BundleStatus> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const answer = await d.cloud.api.send({
      method: "GET",
      path: accepted.statusUrl,
      headers: { authorization: `Bearer ${await d.oidc.ciToken(sub, "phigate")}` },
    });
    expect(answer.status, answer.body).toBe(200);
    const status = JSON.parse(answer.body) as BundleStatus;
    if (status.status !== "building" || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
