// GET /v1/sessions/{id}/proof: every stored version of a session with its inclusion proof against a signed checkpoint.

import * as z from "zod";
import { NotFoundError, UnavailableError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { SESSION_ID_PATTERN } from "#shared/ids.ts";
import { entryIndex } from "#shared/log/entry-leaf.ts";
import type { LogDeps } from "#shared/log/log-ports.ts";
import { hasRole } from "#shared/policy/roles.ts";
import type { SessionEntry, Signer } from "#shared/ports.ts";
import { isSessionEntry } from "#shared/sessions/chain.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/** Schema identifier of a session proof document. */
export const SESSION_PROOF_SCHEMA = "phigate.session-proof/v1";

const base64Hash = z.string().regex(/^[A-Za-z0-9+/]{43}=$/);
const size = z.number().int().nonnegative();

/**
 * A session proof: the checkpoint note, the key that signed it (checked by fingerprint), and each version's whole
 * entry (the leaf's bytes are its canonical JSON) with its leaf index and audit path. With `since`, a consistency
 * proof from an earlier tree size the auditor holds a checkpoint of.
 */
export const sessionProofSchema = z.strictObject({
  schema: z.literal(SESSION_PROOF_SCHEMA),
  sessionId: z.string().min(1).max(100),
  origin: z.string().min(1).max(256),
  publicKey: z
    .string()
    .min(1)
    .max(16 * 1024),
  checkpoint: z
    .string()
    .min(1)
    .max(64 * 1024),
  versions: z
    .array(
      z.strictObject({
        index: size,
        entry: z.record(z.string(), z.unknown()),
        inclusionProof: z.array(base64Hash).max(64),
      }),
    )
    .min(1)
    .max(10_000),
  consistency: z.strictObject({ from: size, proof: z.array(base64Hash).max(128) }).optional(),
});

/** A session proof document. */
export type SessionProof = z.infer<typeof sessionProofSchema>;

const DAY_MS = 86_400_000;
/** Longest the route waits for a just-written version to be sequenced (AWS: a batch window, a sign, a few writes). */
const SEQUENCING_WAIT_MS = 12_000;
const b64 = (hash: Uint8Array): string => Buffer.from(hash).toString("base64");

/** Reads `since` from the query string: a tree size, or undefined. */
export function sinceParameter(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  return /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
}

async function versions(
  deps: SessionDeps,
  sessionId: string,
  createdAt: string,
  updatedAt: string,
  latest: number,
) {
  const fromDay = createdAt.slice(0, 10);
  const toDay = new Date(Date.parse(updatedAt) + DAY_MS).toISOString().slice(0, 10);
  const found: SessionEntry[] = [];
  for await (const entry of deps.sessions.entries(fromDay, toDay)) {
    if (!isSessionEntry(entry) || entry.record.sessionId !== sessionId) continue;
    found.push(entry);
    if (entry.record.version >= latest) break;
  }
  return found;
}

/**
 * The proof of a session for an auditor (anyone else gets 404, as for an unknown session: the entries carry the
 * whole record, planner estimates included). Waits for the checkpoint that covers the latest version (at most the
 * sequencer's batch delay).
 */
export async function sessionProof(
  deps: SessionDeps & LogDeps & { readonly signer: Signer },
  principal: Principal,
  sessionId: string,
  since: number | undefined,
): Promise<SessionProof> {
  const log = deps.log;
  if (log === undefined) {
    throw new UnavailableError("store_unavailable", "this host does not serve transparency log proofs");
  }
  const auditor = hasRole(deps.policy.current(), principal, "auditors", deps.policy.context);
  const record =
    auditor && SESSION_ID_PATTERN.test(sessionId) ? await deps.sessions.get(sessionId) : undefined;
  if (record === undefined) throw new NotFoundError("no such session");
  // A host whose chain is linked off the request path (AWS) lists a version once sequenced: wait that long.
  const deadline = Date.now() + SEQUENCING_WAIT_MS;
  let entries = await versions(deps, sessionId, record.createdAt, record.updatedAt, record.version);
  while (entries.at(-1)?.record.version !== record.version && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    entries = await versions(deps, sessionId, record.createdAt, record.updatedAt, record.version);
  }
  const last = entries.at(-1);
  if (last === undefined || last.record.version !== record.version)
    throw new UnavailableError("store_unavailable", "the session's entries cannot be read");
  const checkpoint = await log.covering(last.seq);
  if (since !== undefined && (!Number.isSafeInteger(since) || since > checkpoint.size)) {
    throw new NotFoundError(`no checkpoint of size ${since} precedes the current one`);
  }
  const key = await deps.signer.publicKey();
  return {
    schema: SESSION_PROOF_SCHEMA,
    sessionId,
    origin: log.origin,
    publicKey: key.pem,
    checkpoint: checkpoint.note,
    versions: entries.map((entry) => ({
      index: entryIndex(entry),
      entry: entry as unknown as Record<string, unknown>,
      inclusionProof: log.inclusionProof(entryIndex(entry), checkpoint.size).map(b64),
    })),
    ...(since === undefined
      ? {}
      : { consistency: { from: since, proof: log.consistencyProof(since, checkpoint.size).map(b64) } }),
  };
}
