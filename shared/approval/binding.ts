// The binding digest: what an approval is for — the exact SQL text, its parameters and its requester.

import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";

/**
 * SHA-256 over the canonical JSON of the SQL text exactly as submitted, the keyed digests of its parameters
 * (so the binding commits to the exact values without a brute-forceable plain hash of, say, an SSN) and the
 * requester's principal key.
 */
export function approvalBinding(input: {
  readonly sql: string;
  readonly paramDigests: readonly string[];
  readonly requesterKey: string;
}): string {
  return sha256Hex(
    canonicalJson({
      binding: "phigate.approval-binding/v1",
      sql: input.sql,
      params: input.paramDigests,
      requester: input.requesterKey,
    }),
  );
}

/** The binding of a recorded session (what the approver is shown and what runs). */
export function recordBinding(record: SessionRecord): string {
  return approvalBinding({
    sql: record.request.sql,
    paramDigests: record.request.params.digests ?? [],
    requesterKey: record.principal.key,
  });
}
