// The replay of a session: the recorded exchange in order, each record version's chain digest, the masked response re-checked.

import { sha256Hex } from "#shared/crypto/digest.ts";
import { NotFoundError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import type { SessionEntry } from "#shared/ports.ts";
import { entryDigest, isSessionEntry } from "#shared/sessions/chain.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { firstStoredRows } from "#shared/sessions/result-format.ts";
import { visibleRecord } from "#shared/sessions/session-view.ts";
import type { Row } from "#shared/sql/types.ts";

/** Schema identifier of a replay document. */
export const REPLAY_SCHEMA = "phigate.replay/v1";

/** Most rows of the masked response a replay includes (the full result stays in the object store). */
export const REPLAY_MAX_ROWS = 1_000;

/** One stored version of the record and its place in the chain. */
export interface ReplayVersion {
  readonly seq: number;
  readonly version: number;
  readonly status: SessionRecord["status"];
  readonly recordedAt: string;
  readonly prev: string;
  readonly digest: string;
  /** Whether the entry's digest recomputes from its content. */
  readonly digestVerified: boolean;
}

/** The masked response as stored, re-read and re-hashed. */
export interface ReplayResponse {
  readonly at: string | null;
  readonly status: SessionRecord["status"];
  readonly columns: NonNullable<SessionRecord["result"]>["columns"];
  readonly rowCount: number | null;
  readonly truncated: boolean | null;
  readonly delivery: "inline" | "url" | null;
  readonly object: NonNullable<SessionRecord["result"]>["object"] | null;
  /** `verified`: the stored object hashes to the recorded SHA-256; `none`: nothing was stored. */
  readonly integrity: "verified" | "missing" | "digest_mismatch" | "none";
  /** The first rows (at most REPLAY_MAX_ROWS), only when integrity is `verified`. */
  readonly rows: readonly Row[];
  readonly rowsShown: number;
  readonly error: SessionRecord["error"];
}

/** The recorded exchange, step by step. */
export interface Replay {
  readonly schema: typeof REPLAY_SCHEMA;
  readonly sessionId: string;
  readonly status: SessionRecord["status"];
  readonly exchange: {
    readonly request: {
      readonly at: string;
      readonly principal: Pick<Principal, "issuer" | "subject" | "key" | "groups" | "claims" | "tokenId">;
      readonly client: SessionRecord["client"];
      readonly sql: string;
      readonly sqlDigest: string;
      readonly params: SessionRecord["request"]["params"];
      readonly purpose: string | null;
      readonly requestDigest: string;
      readonly idempotencyKey: string | null;
    };
    readonly classification: SessionRecord["classification"];
    readonly decision: SessionRecord["decision"] & { readonly at: string };
    readonly approvals: {
      readonly request: SessionRecord["approval"];
      readonly decisions: SessionRecord["approvals"];
    };
    readonly execution: SessionRecord["execution"];
    readonly masking: SessionRecord["masking"];
    readonly response: ReplayResponse;
  };
  readonly transitions: SessionRecord["transitions"];
  readonly versions: readonly ReplayVersion[];
}

const DAY_MS = 86_400_000;

async function chainVersions(deps: SessionDeps, record: SessionRecord): Promise<SessionEntry[]> {
  const fromDay = record.createdAt.slice(0, 10);
  const toDay = new Date(Date.parse(record.updatedAt) + DAY_MS).toISOString().slice(0, 10);
  const found: SessionEntry[] = [];
  for await (const entry of deps.sessions.entries(fromDay, toDay)) {
    if (!isSessionEntry(entry) || entry.record.sessionId !== record.sessionId) continue;
    found.push(entry);
    if (entry.record.version >= record.version) break;
  }
  return found;
}

async function response(deps: SessionDeps, record: SessionRecord): Promise<ReplayResponse> {
  const stored = record.result;
  const base = {
    at: record.execution?.finishedAt ?? record.completedAt,
    status: record.status,
    columns: stored?.columns ?? [],
    rowCount: stored?.rowCount ?? record.execution?.rowCount ?? null,
    truncated: stored?.truncated ?? record.execution?.truncated ?? null,
    delivery: stored?.delivery ?? null,
    object: stored?.object ?? null,
    error: record.error,
  };
  if (stored === null) return { ...base, integrity: "none", rows: [], rowsShown: 0 };
  const bytes = await deps.objects.get(stored.object.key);
  if (bytes === undefined) return { ...base, integrity: "missing", rows: [], rowsShown: 0 };
  if (sha256Hex(bytes) !== stored.object.sha256) {
    deps.logger.error("a stored result does not match its recorded digest", { sessionId: record.sessionId });
    return { ...base, integrity: "digest_mismatch", rows: [], rowsShown: 0 };
  }
  const rows = await firstStoredRows(bytes, REPLAY_MAX_ROWS);
  return { ...base, integrity: "verified", rows, rowsShown: rows.length };
}

/**
 * The planner's figures are kept from the requester (approvers and auditors see them): they come from statistics
 * of the data — how often a value occurs, which for `patient_id` is how many encounters a patient has. The row
 * estimate, the cost and the salt that keeps the record's digest from confirming a guessed estimate.
 */
function withoutEstimate<
  T extends {
    readonly estimatedRows?: number | null;
    readonly estimatedCost?: number;
    readonly estimateSalt?: string;
  },
>(part: T, access: string): T {
  if (access === "auditor") return part;
  const { estimatedCost: _cost, estimateSalt: _salt, ...rest } = part;
  return (
    part.estimatedRows === undefined || part.estimatedRows === null ? rest : { ...rest, estimatedRows: null }
  ) as T;
}

/**
 * `GET /v1/sessions/{id}/replay`: the requester and auditors may replay a session; anyone else gets 404.
 * Rows are returned only when the stored masked result still hashes to the digest in the record.
 */
export async function replaySession(
  deps: SessionDeps,
  principal: Principal,
  sessionId: string,
): Promise<Replay> {
  const visible = await visibleRecord(deps, principal, sessionId);
  if (visible.access !== "requester" && visible.access !== "auditor")
    throw new NotFoundError("no such session");
  const record = visible.record;
  const entries = (await chainVersions(deps, record)).filter((e) => e.record.version <= record.version);
  const p = record.principal;
  return {
    schema: REPLAY_SCHEMA,
    sessionId: record.sessionId,
    status: record.status,
    exchange: {
      request: {
        at: record.createdAt,
        principal: {
          issuer: p.issuer,
          subject: p.subject,
          key: p.key,
          groups: p.groups,
          claims: p.claims,
          ...(p.tokenId === undefined ? {} : { tokenId: p.tokenId }),
        },
        client: record.client,
        sql: record.request.sql,
        sqlDigest: record.request.sqlDigest,
        params: record.request.params,
        purpose: record.request.purpose,
        requestDigest: record.request.requestDigest,
        idempotencyKey: record.request.idempotencyKey,
      },
      classification: record.classification,
      decision: { ...withoutEstimate(record.decision, visible.access), at: record.createdAt },
      approvals: {
        request: record.approval === null ? null : withoutEstimate(record.approval, visible.access),
        decisions: record.approvals,
      },
      execution: record.execution,
      masking: record.masking,
      response: await response(deps, record),
    },
    transitions: record.transitions,
    versions: entries.map((e) => ({
      seq: e.seq,
      version: e.record.version,
      status: e.record.status,
      recordedAt: e.recordedAt,
      prev: e.prev,
      digest: e.digest,
      digestVerified: entryDigest(e) === e.digest,
    })),
  };
}
