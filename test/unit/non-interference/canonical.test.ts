// The non-interference comparer: canonicalization removes ids, times and token spellings, and never a real difference.

import { describe, expect, it } from "vitest";
import {
  canonicalOutcome,
  compareOutcomes,
  type RawOutcome,
} from "#test/support/non-interference/canonical.ts";

const TOKEN_A1 = `mrn_${"a".repeat(24)}`;
const TOKEN_A2 = `mrn_${"b".repeat(24)}`;
const TOKEN_B1 = `mrn_${"c".repeat(24)}`;
const TOKEN_B2 = `mrn_${"d".repeat(24)}`;

function completed(rows: unknown[][], extra: Record<string, unknown> = {}): RawOutcome {
  return {
    status: 200,
    body: {
      sessionId: `ses_${"0".repeat(26)}`,
      status: "completed",
      columns: [
        { name: "id", type: "int4", masking: null },
        { name: "mrn", type: "text", masking: { rule: "public.patients.mrn", strategy: "tokenize" } },
      ],
      rows,
      rowCount: rows.length,
      truncated: false,
      ...extra,
    },
    serverErrors: [],
  };
}

function approved(rows: unknown[][], sessionId: string, at: string): RawOutcome {
  return {
    status: 202,
    body: {
      sessionId,
      status: "pending_approval",
      approval: {
        id: `apr_${sessionId.slice(4)}`,
        expiresAt: at,
        reasons: ["protected column in a predicate"],
      },
    },
    final: {
      sessionId,
      status: "completed",
      createdAt: at,
      completedAt: at,
      approvals: [{ approver: "alice", decision: "approve", at, comment: null }],
      decision: { outcome: "require_approval", reasons: ["protected column in a predicate"] },
      result: {
        columns: [{ name: "id", type: "int4", masking: null }],
        rows,
        rowCount: rows.length,
        truncated: false,
      },
    },
    serverErrors: [],
  };
}

function compare(a: RawOutcome, b: RawOutcome) {
  return compareOutcomes(canonicalOutcome(a), canonicalOutcome(b));
}

describe("the non-interference comparer", () => {
  it("ignores session and approval ids, times, expiries and result links", () => {
    const a = approved([[1], [2]], `ses_${"A".repeat(26)}`, "2026-01-01T00:00:00.000Z");
    const b = approved([[1], [2]], `ses_${"B".repeat(26)}`, "2026-01-02T10:11:12.000Z");
    expect(compare(a, b)).toBeUndefined();
    expect(
      compare(completed([[1, TOKEN_A1]]), completed([[1, TOKEN_B1]], { resultSha256: "ff" })),
    ).toBeUndefined();
  });

  it("renames tokens by first appearance, so equal patterns match and different patterns differ", () => {
    expect(
      compare(
        completed([
          [1, TOKEN_A1],
          [2, TOKEN_A2],
          [3, TOKEN_A1],
        ]),
        completed([
          [1, TOKEN_B1],
          [2, TOKEN_B2],
          [3, TOKEN_B1],
        ]),
      ),
    ).toBeUndefined();
    const pattern = compare(
      completed([
        [1, TOKEN_A1],
        [2, TOKEN_A1],
      ]),
      completed([
        [1, TOKEN_B1],
        [2, TOKEN_B2],
      ]),
    );
    expect(pattern?.kind).toBe("body");
    expect(pattern?.detail).toContain("mrn#2");
  });

  it("finds a different cell, a missing row, another status and another final result", () => {
    expect(compare(completed([[1, TOKEN_A1]]), completed([[2, TOKEN_B1]]))?.kind).toBe("body");
    expect(
      compare(
        completed([
          [1, TOKEN_A1],
          [2, TOKEN_A2],
        ]),
        completed([[1, TOKEN_B1]]),
      )?.detail,
    ).toContain("2 vs 1 rows");
    expect(
      compare(completed([[1, TOKEN_A1]]), {
        status: 403,
        body: { error: { code: "policy_denied", message: "no" } },
        serverErrors: [],
      })?.kind,
    ).toBe("status");
    const at = "2026-01-01T00:00:00.000Z";
    expect(
      compare(approved([[1]], `ses_${"A".repeat(26)}`, at), approved([[2]], `ses_${"A".repeat(26)}`, at))
        ?.kind,
    ).toBe("body");
    const message = (m: string): RawOutcome => ({
      status: 422,
      body: { error: { code: "query_failed", message: m } },
      serverErrors: [],
    });
    expect(compare(message("SQLSTATE 22P02"), message("SQLSTATE 22012"))?.kind).toBe("body");
  });

  it("tells a difference of order alone apart from a difference of content", () => {
    expect(
      compare(
        completed([
          [1, TOKEN_A1],
          [2, TOKEN_A2],
        ]),
        completed([
          [2, TOKEN_B2],
          [1, TOKEN_B1],
        ]),
      )?.kind,
    ).toBe("order-only");
    expect(
      compare(
        completed([
          [1, "x"],
          [2, "y"],
        ]),
        completed([
          [2, "y"],
          [1, "z"],
        ]),
      )?.kind,
    ).toBe("body");
  });

  it("removes the planner estimate's digits and unnamed type OIDs, and nothing else of a reason", () => {
    const denied = (reason: string): RawOutcome => ({
      status: 403,
      body: { error: { code: "policy_denied", message: reason, sessionId: `ses_${"C".repeat(26)}` } },
      serverErrors: [],
    });
    expect(
      compare(
        denied("the planner estimates 20412 rows (large-result)"),
        denied("the planner estimates 31002 rows (large-result)"),
      ),
    ).toBeUndefined();
    expect(
      compare(denied("public.patients.ssn in a predicate"), denied("public.patients.mrn in a predicate"))
        ?.kind,
    ).toBe("body");
    const typed = (oid: string): RawOutcome => ({
      ...completed([]),
      body: { ...completed([]).body, columns: [{ name: "e", type: oid, masking: null }] },
    });
    expect(compare(typed("oid:16402"), typed("oid:16446"))).toBeUndefined();
    expect(compare(typed("int4"), typed("text"))?.kind).toBe("body");
  });

  it("turns only B's translated lookup literals back into A's", () => {
    const a = completed([[1, "MRN-0000001"]]);
    const b = completed([[1, "MRN-7777777"]]);
    const unmapped = canonicalOutcome(b, [{ from: "MRN-0000001", to: "MRN-7777777" }]);
    expect(compareOutcomes(canonicalOutcome(a), unmapped)).toBeUndefined();
    const other = canonicalOutcome(completed([[1, "MRN-5555555"]]), [
      { from: "MRN-0000001", to: "MRN-7777777" },
    ]);
    expect(compareOutcomes(canonicalOutcome(a), other)?.kind).toBe("body");
  });
});
