// The read ledger: what a completed session adds, per table and bucket, and the local ledger rebuilt from the journal.

import { describe, expect, it } from "vitest";
import { MemoryReadLedger } from "#infra/local/adapters/memory-read-ledger.ts";
import { type ChainEntry, READ_BUCKET_SECONDS } from "#shared/ports.ts";
import {
  failedReadsOf,
  ledgerReadsOf,
  ledgerRowsOf,
  tablesOfPlan,
  unrunReadsOf,
  windowCounter,
} from "#shared/sessions/read-ledger.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { sampleRecord } from "#test/support/records.ts";

const AT = new Date("2026-03-02T10:00:00.000Z");
const PLAN = [
  { column: "ssn", position: 1, rule: "public.patients.ssn", strategy: "redact" },
  {
    column: "x",
    position: 2,
    rule: "derived:public.patients.zip+public.encounters.admitted_at",
    strategy: "nullify",
  },
  { column: "notes", position: 3, rule: "public.encounters.notes", strategy: "detect" },
];

/** An approval block (a session that had one counts nothing when it completes). */
const APPROVAL = {
  id: "a",
  expiresAt: AT.toISOString(),
  quorum: 1,
  binding: "0".repeat(64),
  estimatedRows: null,
};

function completed(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sampleRecord({
    status: "completed",
    completedAt: AT.toISOString(),
    masking: { plan: PLAN },
    execution: {
      startedAt: AT.toISOString(),
      finishedAt: AT.toISOString(),
      durationMs: 1,
      rowCount: 40,
      truncated: false,
    },
    ...overrides,
  });
}

describe("the read ledger", () => {
  it("counts a completed, unapproved session's rows against every table its masked columns come from", () => {
    expect(tablesOfPlan(PLAN)).toEqual(["public.encounters", "public.patients"]);
    const record = completed();
    expect(ledgerReadsOf(record)).toEqual({
      principal: `policy-principal:${record.decision.matchedPrincipal}`,
      tables: ["public.encounters", "public.patients"],
      rows: 40,
      at: AT,
    });
  });

  it("counts nothing for a session without PHI tables, completion or a run, or with an approval", () => {
    expect(ledgerReadsOf(completed({ masking: { plan: [] } }))).toBeUndefined();
    expect(ledgerReadsOf(completed({ masking: null }))).toBeUndefined();
    expect(ledgerReadsOf(completed({ status: "failed", execution: null }))).toBeUndefined();
    expect(ledgerReadsOf(completed({ status: "rejected", execution: null }))).toBeUndefined();
    expect(ledgerReadsOf(completed({ approval: APPROVAL }))).toBeUndefined();
  });

  it("counts an empty result and a statement that ran and failed as one PHI row: each answers a question", () => {
    const execution = { startedAt: AT.toISOString(), finishedAt: null, durationMs: null, truncated: null };
    expect(ledgerReadsOf(completed({ execution: { ...execution, rowCount: 0 } }))?.rows).toBe(1);
    expect(
      ledgerReadsOf(completed({ status: "failed", execution: { ...execution, rowCount: null } }))?.rows,
    ).toBe(1);
    const record = completed({ decision: { ...completed().decision, phiTables: ["public.medications"] } });
    expect(failedReadsOf(record, AT)).toMatchObject({
      rows: 1,
      tables: ["public.encounters", "public.medications", "public.patients"],
    });
  });

  it("counts a dry run decided by the planner's estimate as one PHI row per table, unweighed (the twenty-first outside attack)", () => {
    const decision = {
      ...completed().decision,
      estimatedRows: 68,
      occurrences: { "public.patients": 3 },
      phiTables: ["public.encounters"],
    };
    const dry = completed({ status: "dry_run", execution: null, decision });
    expect(ledgerReadsOf(dry)).toEqual({
      principal: `policy-principal:${decision.matchedPrincipal}`,
      tables: ["public.encounters", "public.patients"],
      rows: 1,
      at: AT,
    });
    // Decided without the estimate (no rule needed it): the answer tells nothing the policy does not.
    expect(
      ledgerReadsOf(
        completed({ status: "dry_run", execution: null, decision: { ...decision, estimatedRows: null } }),
      ),
    ).toBeUndefined();
    expect(
      ledgerReadsOf(
        completed({
          status: "dry_run",
          execution: null,
          decision: { ...decision, estimatedRows: undefined },
        }),
      ),
    ).toBeUndefined();
  });

  it("counts a session answered 202 or 403 without running, decided by the planner's estimate, as one PHI row per table", () => {
    const decision = { ...completed().decision, estimatedRows: 68, occurrences: { "public.patients": 3 } };
    const pending = completed({
      status: "pending_approval",
      completedAt: null,
      execution: null,
      approval: APPROVAL,
      decision,
      transitions: [{ status: "pending_approval", at: AT.toISOString() }],
      createdAt: AT.toISOString(),
    });
    expect(ledgerReadsOf(pending)).toBeUndefined();
    expect(unrunReadsOf(pending)).toMatchObject({ rows: 1, at: AT });
    expect(unrunReadsOf(pending)?.weights).toBeUndefined();
    const refused = completed({
      status: "rejected",
      execution: null,
      decision,
      transitions: [{ status: "rejected", at: AT.toISOString() }],
    });
    expect(unrunReadsOf(refused)?.rows).toBe(1);
    // A refusal by the planner's cost is decided by the planner too (the twenty-fifth outside attack).
    const byCost = { ...decision, estimatedRows: null, estimatedCost: 2e5, phiTables: ["public.encounters"] };
    expect(unrunReadsOf({ ...refused, decision: byCost })?.tables).toContain("public.encounters");
    expect(ledgerReadsOf(completed({ status: "dry_run", execution: null, decision: byCost }))?.rows).toBe(1);
    // Not decided by the estimate, or recorded running first (its going over its budget counts on its own).
    expect(unrunReadsOf({ ...pending, decision: { ...decision, estimatedRows: null } })).toBeUndefined();
    expect(
      unrunReadsOf({ ...pending, transitions: [{ status: "running", at: AT.toISOString() }] }),
    ).toBeUndefined();
  });

  it("sums per principal and table from the bucket holding `since` on, and forgets what no window reaches", async () => {
    let now = AT;
    const ledger = new MemoryReadLedger(() => now);
    const earlier = new Date(AT.getTime() - 2 * READ_BUCKET_SECONDS * 1000);
    await ledger.add({ principal: "p", tables: ["public.patients"], rows: 300, at: earlier });
    await ledger.add({ principal: "p", tables: ["public.patients", "public.encounters"], rows: 500, at: AT });
    await ledger.add({ principal: "q", tables: ["public.patients"], rows: 900, at: AT });
    expect(await ledger.rowsSince("p", "public.patients", new Date(AT.getTime() - 3600_000))).toBe(800);
    expect(await ledger.rowsSince("p", "public.patients", AT)).toBe(500);
    expect(await ledger.rowsSince("p", "public.encounters", earlier)).toBe(500);
    // The window adds the tables up: 800 rows of patients and 500 of encounters are 1300 PHI rows.
    expect(await windowCounter(ledger, "p")(["public.patients", "public.encounters"], earlier)).toBe(1300);
    expect(await windowCounter(ledger, "p")(["public.encounters"], earlier)).toBe(500);
    expect(await windowCounter(ledger, "r")(["public.patients"], earlier)).toBe(0);
    now = new Date(AT.getTime() + 3 * 86_400_000);
    expect(await ledger.rowsSince("p", "public.patients", new Date(0))).toBe(0);
  });

  it("weighs a session's rows by the occurrences of each table its decision recorded (1 when none)", async () => {
    const record = completed();
    const weighed = completed({
      decision: { ...record.decision, occurrences: { "public.patients": 10, "public.medications": 3 } },
    });
    const reads = ledgerReadsOf(weighed);
    // A weight for a table the masked columns do not come from is not carried.
    expect(reads).toMatchObject({ rows: 40, weights: { "public.patients": 10 } });
    expect(reads?.weights).not.toHaveProperty("public.medications");
    const ledger = new MemoryReadLedger(() => AT);
    if (reads === undefined) throw new Error("no reads");
    await ledger.add(reads);
    expect(await ledger.rowsSince(reads.principal, "public.patients", AT)).toBe(400);
    expect(await ledger.rowsSince(reads.principal, "public.encounters", AT)).toBe(40);
    expect(ledgerRowsOf({ principal: "p", tables: ["t"], rows: 7, at: AT }, "t")).toBe(7);
  });

  it("is rebuilt from the journal once per session, whatever versions it holds", async () => {
    const record = completed();
    const entry = (r: SessionRecord, seq: number) => ({ seq, record: r }) as unknown as ChainEntry;
    async function* journal() {
      yield entry(sampleRecord({ sessionId: record.sessionId }), 1);
      yield entry(record, 2);
      yield entry({ ...record, version: record.version + 1 }, 3);
    }
    const ledger = new MemoryReadLedger(() => AT);
    await ledger.rebuild(journal());
    expect(
      await ledger.rowsSince(`policy-principal:${record.decision.matchedPrincipal}`, "public.patients", AT),
    ).toBe(40);
    expect(await ledger.rowsSince(record.principal.key, "public.patients", AT)).toBe(0);
  });

  it("keeps, rebuilt, the row a session counted when it went over its budget, though it was approved later", async () => {
    const at = AT.toISOString();
    const over = completed({
      status: "pending_approval",
      completedAt: null,
      approval: APPROVAL,
      transitions: [
        { status: "running", at },
        { status: "pending_approval", at },
      ],
    });
    const approved = completed({
      sessionId: over.sessionId,
      approval: APPROVAL,
      transitions: [...over.transitions, { status: "completed", at }],
    });
    // Live, the approved run counts nothing more (the row was added when it went over).
    expect(ledgerReadsOf(approved)).toBeUndefined();
    const entry = (r: SessionRecord, seq: number) => ({ seq, record: r }) as unknown as ChainEntry;
    async function* journal() {
      yield entry(over, 1);
      yield entry(approved, 2);
    }
    const ledger = new MemoryReadLedger(() => AT);
    await ledger.rebuild(journal());
    const principal = `policy-principal:${over.decision.matchedPrincipal}`;
    expect(await ledger.rowsSince(principal, "public.patients", AT)).toBe(1);
    // A session approved before it ran never ran unapproved: nothing.
    const beforeRun = completed({
      approval: APPROVAL,
      transitions: [
        { status: "pending_approval", at },
        { status: "running", at },
        { status: "completed", at },
      ],
    });
    const fresh = new MemoryReadLedger(() => AT);
    await fresh.rebuild(
      (async function* () {
        yield entry(beforeRun, 1);
      })(),
    );
    expect(await fresh.rowsSince(principal, "public.patients", AT)).toBe(0);
  });
});
