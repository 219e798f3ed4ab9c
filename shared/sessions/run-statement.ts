// Executes an allowed statement read-only, streams its masked result into an immutable object, and reads it back.

import { sha256Hex } from "#shared/crypto/digest.ts";
import { MaskingFailedError, PhigateError, QueryFailedError, UnavailableError } from "#shared/errors.ts";
import type { CompiledDetectors } from "#shared/masking/detectors.ts";
import { compileMasker, type Masker, type MaskingStats } from "#shared/masking/masker.ts";
import { maskInSlices } from "#shared/masking/page-slices.ts";
import type { MaskingPlan } from "#shared/masking/plan.ts";
import { admissionKeyOf } from "#shared/policy/admission-key.ts";
import type { SqlParam, StoredObject } from "#shared/ports.ts";
import { JsonText } from "#shared/serialized-json.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
import { ResultWriter } from "#shared/sessions/result-writer.ts";
import { budgetOf, budgetResultRows, RowBudgetExceeded } from "#shared/sessions/row-budget.ts";
import type { ResultColumn, Row } from "#shared/sql/types.ts";

/** A result column as answered and recorded. */
export interface AnsweredColumn {
  readonly name: string;
  readonly type: string;
  readonly masking: { readonly rule: string; readonly strategy: string } | null;
}

/** The result part of a `200` answer. */
export interface CompletedResult {
  readonly columns: readonly AnsweredColumn[];
  /** The rows; a stored inline result's are its checked text, written into a reply without being parsed. */
  readonly rows: readonly Row[] | JsonText;
  readonly rowCount: number;
  readonly truncated: boolean;
  readonly resultUrl?: string;
  /** SHA-256 of the bytes `resultUrl` serves (gzip NDJSON), so a download can be checked end to end. */
  readonly resultSha256?: string;
}

/** Lifetime of a `resultUrl`, seconds. */
export const RESULT_URL_TTL_SECONDS = 15 * 60;

/** Where results are stored in the object store (the results bucket; IAM grants are scoped to this prefix). */
export const RESULTS_PREFIX = "results/";

function resultKeyBase(record: SessionRecord): string {
  return `${RESULTS_PREFIX}${record.createdAt.slice(0, 10)}/${record.sessionId}`;
}

/** How a statement's result is masked. */
export interface ResultMasking {
  readonly plan: MaskingPlan;
  readonly detectors: CompiledDetectors | undefined;
}

/** Flattens masking statistics into the record's `masking.applied` counters. */
export function appliedCounts(stats: MaskingStats): Record<string, number> {
  const applied: Record<string, number> = { rows: stats.rows, withheld: stats.withheld };
  if (stats.secondLineHits > 0) applied["detected.secondLine"] = stats.secondLineHits;
  for (const [strategy, count] of Object.entries(stats.masked))
    if (count > 0) applied[`masked.${strategy}`] = count;
  for (const [kind, count] of Object.entries(stats.detectorHits))
    if (count > 0) applied[`detected.${kind}`] = count;
  return applied;
}

/** A stored object as the session record keeps it (an object store may say more). */
function storedObject(o: StoredObject): StoredObject {
  return { key: o.key, sha256: o.sha256, size: o.size, contentType: o.contentType };
}

/**
 * Runs the statement under the decision's limits, masking every page as it arrives and handing it to a
 * {@link ResultWriter}: small results are stored as one JSON document and returned inline; a result that
 * crosses `inlineMaxBytes` is streamed to the store as gzip NDJSON while it is read and returned as a
 * short-lived `resultUrl`. Any failure (masking, database, store) aborts the writer, so no complete-looking
 * object is left and nothing is returned. An unapproved session with a row budget (`budgetOf`) fetches at most one
 * row more than it lets through (its PHI rows over the PHI rows each result row takes: `budgetResultRows`); a page
 * that exceeds it is never written and {@link RowBudgetExceeded} is thrown.
 */
export async function runStatement(
  deps: SessionDeps,
  record: SessionRecord,
  statement: string,
  params: readonly SqlParam[],
  masking: ResultMasking,
): Promise<{
  result: CompletedResult;
  stored: NonNullable<SessionRecord["result"]>;
  durationMs: number;
  applied: Record<string, number>;
}> {
  let columns: AnsweredColumn[] = [];
  let masker: Masker | undefined;
  let writer: ResultWriter | undefined;
  const tokenizationKey = Buffer.from(await deps.keys.key("tokenization"));
  const maxRows = record.decision.limits.maxRows;
  // A budget at least the row cap cannot be exceeded: the cap truncates first.
  const budget = ((b) => (b !== undefined && budgetResultRows(b) < maxRows ? b : undefined))(
    budgetOf(record),
  );
  const allowed = budget === undefined ? maxRows : budgetResultRows(budget);
  let delivered = 0;
  // The executor's reset of the statement's connection, which may still run while the result is stored: nothing
  // about the statement is answered (returned or thrown) before it ends, and a reset that failed closed fails the
  // statement (its throw, in `finally`, replaces the return).
  let settled: Promise<void> | undefined;
  try {
    const summary = await deps.executor.execute(
      {
        sql: statement,
        params,
        timeoutMs: record.decision.limits.timeoutMs,
        maxRows: budget === undefined ? maxRows : allowed + 1,
        pageSize: deps.results.pageSize,
        caller: admissionKeyOf(record.decision.matchedPrincipal, record.principal.key),
        ...(masking.plan.opaqueJoins === true ? { opaqueJoins: true } : {}),
      },
      {
        columns: (meta: readonly ResultColumn[]) => {
          masker = compileMasker({
            plan: masking.plan,
            columns: meta,
            keys: { tokenizationKey },
            clock: deps.clock,
            ...(masking.detectors === undefined ? {} : { detectors: masking.detectors }),
          });
          columns = masker.columns.map((c) => ({ name: c.name, type: c.type, masking: c.masking }));
          writer = new ResultWriter({
            objects: deps.objects,
            sessionId: record.sessionId,
            keyBase: resultKeyBase(record),
            inlineMaxBytes: deps.results.inlineMaxBytes,
            columns,
          });
        },
        rows: async (page: readonly Row[]) => {
          if (masker === undefined || writer === undefined)
            throw new MaskingFailedError("Rows arrived before their columns; nothing was returned.");
          delivered += page.length;
          // Over budget: the page is dropped (the executor has stopped fetching) and the result refused below.
          if (budget !== undefined && delivered > allowed) return;
          const into = writer;
          // In slices of bounded text: a page of very wide rows (the thirtieth outside attack: 130 MB of PHI-shaped
          // text) held the event loop for 17 s, every caller stalled and the statement's own error came back as a
          // timeout.
          await maskInSlices(masker, page, (rows) => into.write(rows)).catch((error: unknown) => {
            // Masking's own failures (a value nested deeper than the stack: the thirty-first outside attack) are
            // masking's: a 500 that says so, not the database's 503.
            if (error instanceof PhigateError) throw error;
            throw new MaskingFailedError("A value of the result could not be masked; nothing was returned.", {
              cause: error,
            });
          });
        },
      },
    );
    settled = summary.settled;
    if (masker === undefined || writer === undefined)
      throw new MaskingFailedError("The result had no column description; nothing was returned.");
    if (budget !== undefined && (summary.truncated || delivered > allowed))
      throw new RowBudgetExceeded(budget);
    const written = await writer.finish();
    const applied = appliedCounts(masker.stats());
    const base = { columns, rowCount: summary.rowCount, truncated: summary.truncated };
    const result: CompletedResult =
      written.delivery === "inline"
        ? { ...base, rows: written.rows }
        : {
            ...base,
            rows: [],
            resultUrl: await deps.objects.readUrl(written.object.key, RESULT_URL_TTL_SECONDS),
            resultSha256: written.object.sha256,
          };
    return {
      result,
      stored: { ...base, delivery: written.delivery, object: storedObject(written.object) },
      durationMs: summary.durationMs,
      applied,
    };
  } catch (error) {
    await writer?.abort(error);
    // Which error a statement raises can depend on the values it reads (`CASE` branches dividing by zero,
    // overflowing, casting badly): one of sixteen SQLSTATEs is four bits a failure would carry beyond the one row
    // it counts (the eleventh outside attack). A statement reading protected columns or any PHI table gets none;
    // a timeout stays named (its time tells the caller as much).
    const readsPhi = masking.plan.protectedInput === true || (record.decision.phiTables?.length ?? 0) > 0;
    if (readsPhi && error instanceof QueryFailedError && error.code !== "statement_timeout") {
      throw new QueryFailedError(
        "execution_failed",
        "the statement failed while running; a statement that reads PHI gets no more detail",
        { cause: error },
      );
    }
    throw error;
  } finally {
    await settled;
  }
}

/**
 * Reads a completed session's stored result back. Inline results (one JSON document) are read and refused if
 * their digest no longer matches the record; streamed results (gzip NDJSON) are not read: the answer carries a
 * fresh `resultUrl` and the recorded `resultSha256`, against which the download can be checked.
 */
export async function loadStoredResult(deps: SessionDeps, record: SessionRecord): Promise<CompletedResult> {
  const stored = record.result;
  if (stored === null) throw new UnavailableError("store_unavailable", "the session has no stored result");
  const base = { columns: stored.columns, rowCount: stored.rowCount, truncated: stored.truncated };
  if (stored.delivery === "url") {
    return {
      ...base,
      rows: [],
      resultUrl: await deps.objects.readUrl(stored.object.key, RESULT_URL_TTL_SECONDS),
      resultSha256: stored.object.sha256,
    };
  }
  const bytes = await deps.objects.get(stored.object.key);
  if (bytes === undefined || sha256Hex(bytes) !== stored.object.sha256) {
    throw new UnavailableError(
      "store_unavailable",
      "the stored result is missing or does not match its recorded digest",
    );
  }
  const text = Buffer.from(bytes).toString("utf8");
  // The document is `JSON.stringify({columns, rows})` (ResultWriter), checked against its digest above: a reply
  // writes the rows' stored text, unparsed (the forty-first outside attack spent 0.4 s of main thread per read of
  // 4 MB parsing it). A document of another shape is parsed.
  const prefix = `{"columns":${JSON.stringify(stored.columns)},"rows":`;
  if (text.startsWith(prefix) && text.endsWith("}"))
    return { ...base, rows: new JsonText(text.slice(prefix.length, -1)) };
  return { ...base, rows: (JSON.parse(text) as { rows: Row[] }).rows };
}
