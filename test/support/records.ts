// Builds valid session records for store tests.

import { sha256Hex } from "#shared/crypto/digest.ts";
import { principalKey } from "#shared/identity/principal.ts";
import { newSessionId } from "#shared/ids.ts";
import { SESSION_RECORD_SCHEMA, type SessionRecord } from "#shared/sessions/record.ts";

/** A minimal valid version-1 record (status `running`). */
export function sampleRecord(overrides: Partial<SessionRecord> = {}, at = new Date()): SessionRecord {
  const time = at.toISOString();
  return {
    schema: SESSION_RECORD_SCHEMA,
    sessionId: newSessionId(at),
    version: 1,
    status: "running",
    createdAt: time,
    updatedAt: time,
    completedAt: null,
    transitions: [{ status: "running", at: time }],
    principal: {
      issuer: "https://idp.test/",
      subject: "tester",
      key: principalKey("https://idp.test/", "tester"),
      audience: ["phigate"],
      groups: [],
      claims: {},
      expiresAt: 0,
    },
    client: { ip: "127.0.0.1", userAgent: "vitest" },
    request: {
      sql: "SELECT 1",
      sqlDigest: sha256Hex("SELECT 1"),
      params: { count: 0, mode: "digest", digests: [] },
      purpose: null,
      requestDigest: sha256Hex("request"),
      idempotencyKey: null,
    },
    classification: {
      kind: "read",
      statementType: "SelectStmt",
      relations: [],
      columns: [],
      functions: [],
      wholeRows: [],
      outputs: [],
      limit: null,
      paramCount: 0,
      exposures: [],
      wholeRowExposures: [],
      lookupValues: 0,
    },
    decision: {
      outcome: "allow",
      reasons: ["test"],
      rules: ["test"],
      policy: { name: "test", digest: sha256Hex("policy") },
      matchedPrincipal: "tester",
      limits: { maxRows: 10, timeoutMs: 1000 },
    },
    masking: null,
    approval: null,
    approvals: [],
    execution: null,
    result: null,
    error: null,
    ...overrides,
  };
}
