// Runs a recorded, allowed statement (at once, or once approved) and records its outcome before anything is returned.

import { inSession, PhigateError, UnavailableError } from "#shared/errors.ts";
import { errorFields } from "#shared/log.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import { failSession } from "#shared/sessions/fail-session.ts";
import type { QueryRequest } from "#shared/sessions/new-record.ts";
import { failedReadsOf, ledgerReadsOf } from "#shared/sessions/read-ledger.ts";
import { type SessionRecord, transition } from "#shared/sessions/record.ts";
import { RowBudgetExceeded } from "#shared/sessions/row-budget.ts";
import { type CompletedResult, type ResultMasking, runStatement } from "#shared/sessions/run-statement.ts";
import type { AnalyzedStatement } from "#shared/sql/statement-analyzer.ts";

/** The body of a `200` answer (contract §2). */
export interface CompletedBody extends CompletedResult {
  readonly sessionId: string;
  readonly status: "completed";
}

/**
 * Runs a recorded, allowed statement and records its outcome; the body is returned only once recorded. A statement
 * that exceeds its row budget ({@link RowBudgetExceeded}) leaves the session `running` for the caller to move on
 * (`submitQuery` sends it to approval); nothing of its result was kept, and like a failed statement it counted one
 * PHI row in the read ledger first.
 */
export async function executeSession(
  deps: SessionDeps,
  record: SessionRecord,
  analyzed: AnalyzedStatement,
  request: Pick<QueryRequest, "params">,
  masking: ResultMasking,
): Promise<CompletedBody> {
  const startedAt = deps.clock.now();
  let outcome: Awaited<ReturnType<typeof runStatement>>;
  try {
    outcome = await runStatement(deps, record, analyzed.statement, request.params, masking);
  } catch (error) {
    // A statement's error answers a question about the data too, and so does its going over its row budget (many
    // rows or none: `WHERE EXISTS (...)` over a generator — the tenth outside attack): it counts before the caller
    // sees either.
    const failed = failedReadsOf(record, deps.clock.now());
    let reported: unknown = error;
    try {
      if (failed !== undefined) await deps.reads.add(failed);
    } catch (ledgerError) {
      deps.logger.error("could not count a failed statement's read; withholding its outcome", {
        sessionId: record.sessionId,
        ...errorFields(ledgerError),
      });
      reported = new UnavailableError("store_unavailable", "the session store is unavailable");
    }
    if (reported instanceof RowBudgetExceeded) throw reported;
    await failSession(deps, record, reported, startedAt);
    throw inSession(reported, record.sessionId);
  }
  const secondLine = outcome.applied["detected.secondLine"];
  if (secondLine !== undefined) {
    deps.logger.warn(
      "the second line of detectors masked PHI-shaped text in columns the plan left unmasked",
      {
        sessionId: record.sessionId,
        spans: secondLine,
      },
    );
  }
  const finishedAt = deps.clock.now();
  const final = transition(record, "completed", finishedAt, {
    execution: {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: outcome.durationMs,
      rowCount: outcome.result.rowCount,
      truncated: outcome.result.truncated,
    },
    result: outcome.stored,
    masking: { plan: record.masking?.plan ?? [], applied: outcome.applied },
  });
  // The caller's read ledger counts the rows before the result is released (a failure withholds it).
  const reads = ledgerReadsOf(final);
  try {
    if (reads !== undefined) await deps.reads.add(reads);
    await deps.sessions.update(final);
  } catch (error) {
    deps.logger.error("could not record a completed session; withholding its result", {
      sessionId: record.sessionId,
      ...errorFields(error),
    });
    const reported =
      error instanceof PhigateError
        ? error
        : new UnavailableError("store_unavailable", "the session store is unavailable");
    await failSession(deps, record, reported, startedAt);
    throw inSession(reported, record.sessionId);
  }
  return { sessionId: record.sessionId, status: "completed", ...outcome.result };
}
