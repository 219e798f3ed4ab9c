// Checks a session proof offline with only a trusted key: the signed checkpoint, each version's entry, and its inclusion.

import { keyFingerprint, parsePublicKey } from "#shared/crypto/signature.ts";
import { readCheckpoint } from "#shared/log/checkpoint.ts";
import { derivedLeafHash, entryIndex } from "#shared/log/entry-leaf.ts";
import { verifyConsistency, verifyInclusion } from "#shared/log/merkle.ts";
import { type SessionProof, sessionProofSchema } from "#shared/log/session-proof.ts";
import type { ChainEntry } from "#shared/ports.ts";
import { entryDigest } from "#shared/sessions/chain.ts";
import { type SessionStatus, sessionRecordSchema, TERMINAL_STATUSES } from "#shared/sessions/record.ts";

/** What can be wrong with a session proof, most fundamental first. */
export type SessionProofProblem =
  | "not_a_proof"
  | "untrusted_key"
  | "checkpoint_invalid"
  | "record_altered"
  | "version_missing"
  | "not_included"
  | "inconsistent";

/** The outcome of checking a session proof. */
export interface SessionProofVerification {
  readonly ok: boolean;
  readonly problems: readonly { readonly class: SessionProofProblem; readonly message: string }[];
  readonly sessionId?: string;
  readonly versions?: number;
  /**
   * The status of the last version the proof shows, and whether it is final. An inclusion proof shows what is in
   * the log, not that nothing follows it: a proof cut short at a `running` version still verifies, so a caller
   * must read a non-final last status as "not shown to have ended" (a bundle over the range shows every version).
   */
  readonly last?: { readonly status: string; readonly final: boolean };
  readonly checkpoint?: { readonly origin: string; readonly size: number; readonly root: string };
}

/** An earlier checkpoint the auditor holds: the proof's checkpoint must extend it (with the proof's `consistency`). */
export interface HeldCheckpoint {
  readonly note: string;
}

/**
 * Verifies `document` (a parsed JSON value): the bundled key must have `trustedFingerprint`, the checkpoint must be
 * signed by it, each version's entry must hash to its chain digest, belong to the session, follow the one before
 * (versions 1..n, none missing, none moved) and be included at its index in the checkpoint's tree. With `held`, the
 * checkpoint must extend that earlier one.
 */
export function verifySessionProof(
  document: unknown,
  trustedFingerprint: string,
  held?: HeldCheckpoint,
): SessionProofVerification {
  const parsed = sessionProofSchema.safeParse(document);
  if (!parsed.success) {
    return {
      ok: false,
      problems: [{ class: "not_a_proof", message: "the file is not a phigate session proof" }],
    };
  }
  const proof: SessionProof = parsed.data;
  const key = parsePublicKey(proof.publicKey);
  if ("problem" in key) return fail("untrusted_key", `the proof's public key ${key.problem}`);
  const fingerprint = keyFingerprint(key.key);
  if (fingerprint !== trustedFingerprint) {
    return fail(
      "untrusted_key",
      `the proof is signed by key ${fingerprint}, not the trusted ${trustedFingerprint}`,
    );
  }
  const reading = readCheckpoint(proof.checkpoint, key.key, proof.origin);
  if (!reading.ok) return fail("checkpoint_invalid", reading.message);
  const checkpoint = reading.checkpoint;
  const problems: { class: SessionProofProblem; message: string }[] = [];
  let last: { status: SessionStatus } | undefined;
  for (const [i, version] of proof.versions.entries()) {
    const entry = version.entry as unknown as ChainEntry;
    const label = `version ${i + 1}`;
    let digestOk = false;
    try {
      digestOk = Number.isSafeInteger(entry.seq) && entryDigest(entry) === entry.digest;
    } catch {
      digestOk = false;
    }
    const record = sessionRecordSchema.safeParse(entry.record);
    if (!digestOk || !record.success || record.data.sessionId !== proof.sessionId) {
      problems.push({
        class: "record_altered",
        message: `${label}: the entry does not hash to its digest or is not this session's`,
      });
      continue;
    }
    last = { status: record.data.status };
    if (record.data.version !== i + 1) {
      problems.push({
        class: "version_missing",
        message: `${label}: the entry holds version ${record.data.version}`,
      });
    }
    const leaf = derivedLeafHash(entry);
    const path = version.inclusionProof.map((h) => Uint8Array.from(Buffer.from(h, "base64")));
    if (
      version.index !== entryIndex(entry) ||
      !verifyInclusion(version.index, checkpoint.size, leaf, path, checkpoint.root)
    ) {
      problems.push({
        class: "not_included",
        message: `${label} (seq ${entry.seq}) is not included at leaf ${version.index} of the checkpoint's tree of ${checkpoint.size}`,
      });
    }
  }
  if (held !== undefined) {
    const earlier = readCheckpoint(held.note, key.key, proof.origin);
    const consistency = proof.consistency;
    if (!earlier.ok) {
      problems.push({ class: "inconsistent", message: `the held checkpoint: ${earlier.message}` });
    } else if (consistency === undefined || consistency.from !== earlier.checkpoint.size) {
      problems.push({
        class: "inconsistent",
        message: `the proof carries no consistency proof from size ${earlier.checkpoint.size} (ask with ?since=${earlier.checkpoint.size})`,
      });
    } else if (
      !verifyConsistency(
        earlier.checkpoint.size,
        checkpoint.size,
        consistency.proof.map((h) => Uint8Array.from(Buffer.from(h, "base64"))),
        earlier.checkpoint.root,
        checkpoint.root,
      )
    ) {
      problems.push({
        class: "inconsistent",
        message: `the checkpoint of size ${checkpoint.size} does not extend the held checkpoint of size ${earlier.checkpoint.size}: a fork or rewritten history`,
      });
    }
  }
  return {
    ok: problems.length === 0,
    problems,
    sessionId: proof.sessionId,
    versions: proof.versions.length,
    ...(last === undefined
      ? {}
      : { last: { status: last.status, final: TERMINAL_STATUSES.has(last.status) } }),
    checkpoint: {
      origin: checkpoint.origin,
      size: checkpoint.size,
      root: Buffer.from(checkpoint.root).toString("hex"),
    },
  };
}

function fail(cls: SessionProofProblem, message: string): SessionProofVerification {
  return { ok: false, problems: [{ class: cls, message }] };
}
