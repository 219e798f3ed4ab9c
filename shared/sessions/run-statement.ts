// Executes an allowed statement read-only, stores its result as an immutable object, and reads stored results back.

import { createHash } from "node:crypto";
import { MaskingFailedError, UnavailableError } from "#shared/errors.ts";
import type { CompiledDetectors } from "#shared/masking/detectors.ts";
import { compileMasker, type Masker, type MaskingStats } from "#shared/masking/masker.ts";
import type { MaskingPlan } from "#shared/masking/plan.ts";
import type { SqlParam } from "#shared/ports.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import type { SessionRecord } from "#shared/sessions/record.ts";
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
  readonly rows: readonly Row[];
  readonly rowCount: number;
  readonly truncated: boolean;
  readonly resultUrl?: string;
}

const RESULT_URL_TTL_SECONDS = 15 * 60;

function resultKey(record: SessionRecord): string {
  return `results/${record.createdAt.slice(0, 10)}/${record.sessionId}.json`;
}

/** How a statement's result is masked. */
export interface ResultMasking {
  readonly plan: MaskingPlan;
  readonly detectors: CompiledDetectors | undefined;
}

/** Flattens masking statistics into the record's `masking.applied` counters. */
export function appliedCounts(stats: MaskingStats): Record<string, number> {
  const applied: Record<string, number> = { rows: stats.rows, withheld: stats.withheld };
  for (const [strategy, count] of Object.entries(stats.masked))
    if (count > 0) applied[`masked.${strategy}`] = count;
  for (const [kind, count] of Object.entries(stats.detectorHits))
    if (count > 0) applied[`detected.${kind}`] = count;
  return applied;
}

/**
 * Runs the statement under the decision's limits, masking every page as it arrives, and stores the masked
 * result before anything is returned. A masking failure stops the statement: nothing is stored or returned.
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
  const tokenizationKey = Buffer.from(await deps.keys.key("tokenization"));
  const rows: Row[] = [];
  const summary = await deps.executor.execute(
    {
      sql: statement,
      params,
      timeoutMs: record.decision.limits.timeoutMs,
      maxRows: record.decision.limits.maxRows,
      pageSize: deps.results.pageSize,
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
      },
      rows: (page: readonly Row[]) => {
        if (masker === undefined)
          throw new MaskingFailedError("Rows arrived before their columns; nothing was returned.");
        for (const row of masker.maskPage(page)) rows.push(row);
      },
    },
  );
  if (masker === undefined)
    throw new MaskingFailedError("The result had no column description; nothing was returned.");
  const applied = appliedCounts(masker.stats());
  const body = Buffer.from(JSON.stringify({ columns, rows }), "utf8");
  const object = await deps.objects.put(resultKey(record), body, "application/json");
  const delivery = body.length <= deps.results.inlineMaxBytes ? "inline" : "url";
  const base = { columns, rowCount: summary.rowCount, truncated: summary.truncated };
  const result: CompletedResult =
    delivery === "inline"
      ? { ...base, rows }
      : { ...base, rows: [], resultUrl: await deps.objects.readUrl(object.key, RESULT_URL_TTL_SECONDS) };
  return {
    result,
    stored: { columns, rowCount: summary.rowCount, truncated: summary.truncated, delivery, object },
    durationMs: summary.durationMs,
    applied,
  };
}

/** Reads a completed session's stored result back, refusing it if its digest no longer matches the record. */
export async function loadStoredResult(deps: SessionDeps, record: SessionRecord): Promise<CompletedResult> {
  const stored = record.result;
  if (stored === null) throw new UnavailableError("store_unavailable", "the session has no stored result");
  const base = { columns: stored.columns, rowCount: stored.rowCount, truncated: stored.truncated };
  if (stored.delivery === "url") {
    return {
      ...base,
      rows: [],
      resultUrl: await deps.objects.readUrl(stored.object.key, RESULT_URL_TTL_SECONDS),
    };
  }
  const bytes = await deps.objects.get(stored.object.key);
  if (bytes === undefined || createHash("sha256").update(bytes).digest("hex") !== stored.object.sha256) {
    throw new UnavailableError(
      "store_unavailable",
      "the stored result is missing or does not match its recorded digest",
    );
  }
  const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as { rows: Row[] };
  return { ...base, rows: parsed.rows };
}
