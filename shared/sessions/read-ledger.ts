// What a completed session adds to its caller's read ledger, and the risk rules' window count read from it.

import type { MaskingSummaryEntry } from "#shared/masking/plan.ts";
import { admissionKeyOf } from "#shared/policy/admission-key.ts";
import { MAX_WINDOW_SECONDS } from "#shared/policy/schema.ts";
import { type LedgerReads, READ_BUCKET_SECONDS, type ReadLedger } from "#shared/ports.ts";
import { askedThePlanner, type SessionRecord } from "#shared/sessions/record.ts";

/** How long a ledger bucket must be kept: the longest window plus the bucket it starts in. */
export const LEDGER_RETENTION_SECONDS = MAX_WINDOW_SECONDS + READ_BUCKET_SECONDS;

/** The start (epoch seconds) of the ledger bucket holding `at`. */
export function readBucket(at: Date): number {
  const seconds = Math.floor(at.getTime() / 1000);
  return seconds - (seconds % READ_BUCKET_SECONDS);
}

/**
 * The tables a masking plan's protected columns come from: each masked column's rule names its sources
 * (`schema.table.column`, `+`-joined, `derived:` when transformed, `schema.table.*` for whole rows under detectors).
 */
export function tablesOfPlan(plan: readonly Pick<MaskingSummaryEntry, "rule">[]): string[] {
  const tables = new Set<string>();
  for (const entry of plan) {
    const rule = entry.rule.startsWith("derived:") ? entry.rule.slice("derived:".length) : entry.rule;
    for (const column of rule.split("+")) {
      const dot = column.lastIndexOf(".");
      if (dot > 0) tables.add(column.slice(0, dot));
    }
  }
  return [...tables].sort();
}

/**
 * The tables a session's rows count against: the decision's `phiTables` and the tables of its masked columns (all
 * a record made before `phiTables` names).
 */
export function ledgerTablesOf(record: Pick<SessionRecord, "decision" | "masking">): string[] {
  const named = [...(record.decision.phiTables ?? []), ...tablesOfPlan(record.masking?.plan ?? [])];
  return [...new Set(named)].sort();
}

/**
 * What a session adds to the ledger, for a session without an approval that read a PHI table: a completed one its
 * result rows, and at least one (an empty result still answers the statement's question); one whose statement ran
 * and failed one (its error is an answer too: `1/0` under a condition on PHI); a dry run decided by the planner's
 * estimate one per table; undefined for every other session.
 */
export function ledgerReadsOf(record: SessionRecord): LedgerReads | undefined {
  if (record.approval !== null || record.completedAt === null) return undefined;
  // A dry run whose decision the planner's estimate shaped tells about the PHI tables' statistics, and a caller
  // who scales the estimate by a factor of its own (a second scan, a range) reads it off where the answer turns:
  // how many encounters a patient has, from the planner's most-common-values list (the twenty-first outside attack,
  // 1,500 dry runs charged nothing). It counts one PHI row of each PHI table it reads, as reading a row would.
  if (record.status === "dry_run")
    return askedThePlanner(record.decision)
      ? readsOf(record, 1, new Date(record.completedAt), false)
      : undefined;
  if (record.status === "completed")
    return readsOf(record, Math.max(1, record.execution?.rowCount ?? 0), new Date(record.completedAt));
  if (record.status === "failed" && record.execution?.startedAt !== undefined)
    return readsOf(record, 1, new Date(record.completedAt));
  return undefined;
}

/** What a session whose statement ran and failed at `at` adds to the ledger (see {@link ledgerReadsOf}). */
export function failedReadsOf(record: SessionRecord, at: Date): LedgerReads | undefined {
  return record.approval === null ? readsOf(record, 1, at) : undefined;
}

/**
 * What a session recorded `pending_approval` or `rejected` from the start adds when it is created: one PHI row of
 * each PHI table it reads when the planner's estimate shaped its decision, as a dry run's. Its answer (a `202`, a
 * `403`) names every rule that fired,
 * and a caller who scales the estimate by a factor of its own learns from whether an estimate-driven rule is among
 * them a fact of the planner's statistics, even when another rule forced the approval (the twenty-fourth outside
 * attack told 600 patients' heavy encounter histories apart, and read 11 exact frequencies, from 768 such answers
 * charged nothing). Undefined for every other session.
 */
export function unrunReadsOf(record: SessionRecord): LedgerReads | undefined {
  const first = record.transitions[0]?.status;
  if ((first !== "pending_approval" && first !== "rejected") || !askedThePlanner(record.decision))
    return undefined;
  return readsOf(record, 1, new Date(record.createdAt), false);
}

/**
 * What a journal's version of a session adds when the ledger is rebuilt from it: {@link ledgerReadsOf}; for a
 * session recorded `pending_approval` or `rejected` from the start, {@link unrunReadsOf}; or, for a session whose statement ran
 * unapproved and went over its row budget (`running` then `pending_approval` or `rejected`), the one PHI row counted
 * when it went over — its later approval does not undo that.
 */
export function journalReadsOf(record: SessionRecord): LedgerReads | undefined {
  const reads = ledgerReadsOf(record) ?? unrunReadsOf(record);
  if (reads !== undefined) return reads;
  const steps = record.transitions;
  for (let i = 1; i < steps.length; i++) {
    const [before, after] = [steps[i - 1], steps[i]];
    if (before?.status !== "running" || after === undefined) continue;
    if (after.status === "pending_approval" || after.status === "rejected")
      return readsOf(record, 1, new Date(after.at));
  }
  return undefined;
}

function readsOf(record: SessionRecord, rows: number, at: Date, weighed = true): LedgerReads | undefined {
  const tables = ledgerTablesOf(record);
  if (tables.length === 0) return undefined;
  const weights = Object.entries((weighed ? record.decision.occurrences : undefined) ?? {}).filter(
    ([table, weight]) => tables.includes(table) && weight > 1,
  );
  return {
    principal: admissionKeyOf(record.decision.matchedPrincipal, record.principal.key),
    tables,
    rows,
    ...(weights.length === 0 ? {} : { weights: Object.fromEntries(weights) }),
    at,
  };
}

/**
 * The PHI rows `reads` adds for `table`: its result rows times the occurrences of the table behind each (1 when
 * not weighed, as in records made before the weight).
 */
export function ledgerRowsOf(reads: LedgerReads, table: string): number {
  return reads.rows * Math.max(1, reads.weights?.[table] ?? 1);
}

/**
 * The risk rules' window count for a caller: the PHI rows the caller took from `tables` together since `since`
 * (the sum over the tables), read from the ledger (a table at a time).
 */
export function windowCounter(
  ledger: ReadLedger,
  principal: string,
): (tables: readonly string[], since: Date) => Promise<number> {
  return async (tables, since) => {
    const counts = await Promise.all(tables.map((t) => ledger.rowsSince(principal, t, since)));
    return counts.reduce((sum, n) => sum + n, 0);
  };
}
