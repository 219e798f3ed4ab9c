// Builds the first version of a session record from a request, its analysis and its decision.

import { randomBytes } from "node:crypto";
import { canonicalJson } from "#shared/crypto/canonical-json.ts";
import { hmacSha256Hex, sha256Hex } from "#shared/crypto/digest.ts";
import { type CiClaims, CLAIM_NAMES, type Principal } from "#shared/identity/principal.ts";
import type { Decision } from "#shared/policy/evaluate.ts";
import type { MatchContext } from "#shared/policy/match.ts";
import type { SqlParam } from "#shared/ports.ts";
import {
  askedThePlanner,
  SESSION_RECORD_SCHEMA,
  type SessionRecord,
  type SessionStatus,
  storedClassificationSchema,
  TERMINAL_STATUSES,
} from "#shared/sessions/record.ts";
import { ANALYZER_VERSION } from "#shared/sql/analyzer-version.ts";
import type { CatalogRef } from "#shared/sql/catalog-snapshot.ts";
import type { Classification } from "#shared/sql/types.ts";

/** A validated query request, parameters in `$n` order. */
export interface QueryRequest {
  readonly sql: string;
  readonly params: readonly SqlParam[];
  readonly purpose: string | null;
  readonly dryRun: boolean;
}

/** Who sent a request and from where. */
export interface RequestContext {
  readonly principal: Principal;
  readonly client: { readonly ip: string | null; readonly userAgent: string | null };
  readonly idempotencyKey: string | null;
}

/** The digest an idempotent retry must match: SQL, parameters and purpose. */
export function requestDigest(request: QueryRequest): string {
  return sha256Hex(canonicalJson({ sql: request.sql, params: request.params, purpose: request.purpose }));
}

/** Keyed digests of parameters (they can be PHI; a plain hash of a 9-digit SSN is trivially reversed). */
export function parameterDigests(key: Uint8Array, params: readonly SqlParam[]): string[] {
  return params.map((p) => hmacSha256Hex(key, canonicalJson(p)));
}

/** A principal as the record stores it: the schema's fields in the schema's order (the bytes written depend on it). */
function storedPrincipal(p: Principal): SessionRecord["principal"] {
  const claims: CiClaims = {};
  for (const name of CLAIM_NAMES) {
    const value = p.claims[name];
    if (value !== undefined) claims[name] = value;
  }
  return {
    issuer: p.issuer,
    subject: p.subject,
    key: p.key,
    audience: [...p.audience],
    groups: [...p.groups],
    claims,
    ...(p.tokenId === undefined ? {} : { tokenId: p.tokenId }),
    expiresAt: p.expiresAt,
  };
}

function storedRowBudget(
  budget: NonNullable<Decision["rowBudget"]>,
): NonNullable<SessionRecord["decision"]["rowBudget"]> {
  const stored = { rows: budget.rows, rule: budget.rule, action: budget.action };
  return budget.weight === undefined ? stored : { ...stored, weight: budget.weight };
}

/**
 * Version 1 of a session record, built field by field in `sessionRecordSchema`'s shape and order: stores write it
 * as it is, so it must equal its own schema projection (test/unit/sessions/record-shape.test.ts).
 */
export function newSessionRecord(input: {
  sessionId: string;
  status: SessionStatus;
  at: Date;
  context: RequestContext;
  request: QueryRequest;
  parameterKey: Uint8Array;
  classification: Classification;
  /** The catalog snapshot the classification used (null when the analyzer did not say). */
  catalog: CatalogRef | null;
  decision: Decision;
  masking: SessionRecord["masking"];
  /** How issuer aliases resolved for the decision (kept so evidence can re-evaluate it offline). */
  matchContext?: MatchContext;
}): SessionRecord {
  const time = input.at.toISOString();
  const { request, decision } = input;
  return {
    schema: SESSION_RECORD_SCHEMA,
    sessionId: input.sessionId,
    version: 1,
    status: input.status,
    createdAt: time,
    updatedAt: time,
    completedAt: TERMINAL_STATUSES.has(input.status) ? time : null,
    transitions: [{ status: input.status, at: time }],
    principal: storedPrincipal(input.context.principal),
    client: { ip: input.context.client.ip, userAgent: input.context.client.userAgent },
    request: {
      sql: request.sql,
      sqlDigest: sha256Hex(request.sql),
      params: {
        count: request.params.length,
        mode: "digest",
        digests: parameterDigests(input.parameterKey, request.params),
      },
      purpose: request.purpose,
      requestDigest: requestDigest(request),
      idempotencyKey: input.context.idempotencyKey,
    },
    classification: storedClassificationSchema.parse(input.classification),
    analysis: {
      analyzerVersion: ANALYZER_VERSION,
      catalog:
        input.catalog === null ? null : { version: input.catalog.version, sha256: input.catalog.sha256 },
    },
    decision: {
      outcome: decision.outcome,
      reasons: [...decision.reasons],
      rules: [...decision.rules],
      policy: { name: decision.policy.name, digest: decision.policy.digest },
      matchedPrincipal: decision.matchedPrincipal,
      limits: { maxRows: decision.limits.maxRows, timeoutMs: decision.limits.timeoutMs },
      estimatedRows: decision.estimatedRows ?? null,
      ...(decision.windowRows === undefined || decision.windowRows === null
        ? {}
        : { windowRows: decision.windowRows }),
      ...(decision.estimatedCost === undefined ? {} : { estimatedCost: decision.estimatedCost }),
      ...(askedThePlanner(decision) ? { estimateSalt: randomBytes(16).toString("hex") } : {}),
      ...(decision.rowBudget === undefined ? {} : { rowBudget: storedRowBudget(decision.rowBudget) }),
      ...(decision.occurrences === undefined ? {} : { occurrences: { ...decision.occurrences } }),
      ...(decision.phiTables === undefined ? {} : { phiTables: [...decision.phiTables] }),
      ...(input.matchContext === undefined
        ? {}
        : { matchContext: { devIssuer: input.matchContext.devIssuer ?? null } }),
    },
    masking: input.masking,
    approval: null,
    approvals: [],
    execution: null,
    result: null,
    error: null,
  };
}
