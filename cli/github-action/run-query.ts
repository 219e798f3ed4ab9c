// The Action's query: one statement through the gateway, the result written to a file and the step summary.

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { finished } from "node:stream/promises";
import { EXIT } from "#cli/cli-error.ts";
import type { FORMATS } from "#cli/format.ts";
import { appendSummary, command, setOutputs, type WorkflowFiles } from "#cli/github-action/workflow-files.ts";
import { printDownloadedResult } from "#cli/stream-format.ts";
import { awaitSession } from "#shared/gateway-client/await-session.ts";
import type { GatewayClient, ResultColumn } from "#shared/gateway-client/gateway-client.ts";
import { type Failure, type QueryResult, queryOutcome } from "#shared/gateway-client/outcomes.ts";
import { markdownTable } from "#shared/mcp/render.ts";

/** What the Action was asked to run. */
export interface ActionQuery {
  readonly sql: string;
  readonly params?: readonly unknown[];
  readonly purpose?: string;
  readonly format: (typeof FORMATS)[number];
  /** The result file (relative to the working directory). */
  readonly output: string;
  /** Rows shown in the step summary (0: none, only the counts and the masking). */
  readonly summaryRows: number;
}

function exitOf(failure: Failure): number {
  if (failure.code === "approval_expired") return EXIT.expired;
  return failure.status === 403 ? EXIT.denied : EXIT.error;
}

function maskingLine(columns: readonly ResultColumn[]): string {
  const masked = columns.filter((c) => c.masking !== null && c.masking.rule !== "detectors");
  return masked.length === 0
    ? "No column masked by a rule (text went through the detectors)."
    : `Masked: ${masked.map((c) => `\`${c.name}\` (${c.masking?.strategy})`).join(", ")}.`;
}

async function settle(
  client: GatewayClient,
  query: ActionQuery,
  log: (text: string) => void,
): Promise<QueryResult | Failure> {
  const outcome = queryOutcome(
    await client.postQuery({
      sql: query.sql,
      ...(query.params === undefined ? {} : { params: query.params }),
      ...(query.purpose === undefined ? {} : { purpose: query.purpose }),
    }),
  );
  if (outcome.kind !== "pending") return outcome;
  const { approval, sessionId } = outcome;
  log(
    command(
      "notice",
      `phigate: approval ${approval.id} is needed (session ${sessionId}, open until ${approval.expiresAt}); an approver decides at ${client.approvalLink(approval.id)}. Why: ${approval.reasons.join("; ")}`,
    ),
  );
  let last = "";
  const settled = await awaitSession(client, sessionId, {
    onWaiting: (state) => {
      const line = `waiting for approval ${approval.id} · ${state.status} · ${state.approvals}/${state.quorum ?? "?"} approval(s)`;
      if (line !== last) log(`${line}\n`);
      last = line;
    },
  });
  if (settled.kind === "waiting") throw new Error("the session stopped waiting without a decision");
  return settled;
}

/**
 * Runs the statement (waiting for approvers when the policy asks, the job's token refreshed meanwhile), writes the
 * masked result to `query.output` in `query.format`, adds the counts, the masking and the first rows to the step
 * summary and sets the `session-id`, `row-count` and `result-file` outputs. Returns the exit status (3 denied,
 * 5 expired, 4 any other failure); a failure is reported as an `::error::` line.
 */
export async function runActionQuery(
  client: GatewayClient,
  query: ActionQuery,
  files: WorkflowFiles,
  log: (text: string) => void,
): Promise<number> {
  const outcome = await settle(client, query, log);
  if (outcome.kind === "failure") {
    const session = outcome.sessionId === undefined ? "" : ` (session ${outcome.sessionId})`;
    log(command("error", `phigate: ${outcome.code}: ${outcome.message}${session}`));
    return exitOf(outcome);
  }
  const source =
    outcome.resultUrl === undefined
      ? {
          columns: outcome.columns,
          rows: (async function* () {
            yield* outcome.rows ?? [];
          })(),
        }
      : await client.openResult(outcome.resultUrl, outcome.resultSha256);
  const shown: unknown[][] = [];
  const rows = (async function* () {
    for await (const row of source.rows) {
      if (shown.length < query.summaryRows) shown.push(row);
      yield row;
    }
  })();
  const path = resolve(query.output);
  const file = createWriteStream(path, { mode: 0o600 });
  await once(file, "open");
  let count: number;
  try {
    count = await printDownloadedResult(
      {
        sessionId: outcome.sessionId,
        columns: outcome.columns,
        rows: [],
        rowCount: outcome.rowCount,
        truncated: outcome.truncated,
      },
      { columns: source.columns, rows },
      query.format,
      file,
    );
    file.end();
    await finished(file);
  } catch (error) {
    file.destroy();
    await rm(path, { force: true });
    throw error;
  }
  await setOutputs(files, {
    "session-id": outcome.sessionId,
    "row-count": String(count),
    "result-file": path,
  });
  const more =
    count > shown.length
      ? `\n\nFirst ${shown.length} of ${count} rows; the whole result is in \`${query.output}\`.`
      : "";
  await appendSummary(
    files,
    [
      "### phigate query",
      "",
      `Session \`${outcome.sessionId}\`: ${count} row(s)${outcome.truncated ? ", cut by the policy's row cap" : ""} written to \`${query.output}\` (${query.format}).`,
      maskingLine(outcome.columns),
      ...(shown.length > 0 ? ["", markdownTable(outcome.columns, shown)] : []),
      "",
    ].join("\n") +
      more +
      "\n",
  );
  log(`phigate: ${count} row(s) written to ${query.output} · session ${outcome.sessionId}\n`);
  return EXIT.ok;
}
