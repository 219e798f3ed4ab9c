// Renders the gateway's answers as the text a model reads (and the structured content beside it).

import type { ResultColumn } from "#shared/gateway-client/gateway-client.ts";
import type { Failure, PendingApproval, Waiting } from "#shared/gateway-client/outcomes.ts";

/** A tool's answer: text for the model, structured content for programs, and whether it is an error. */
export interface Rendered {
  readonly text: string;
  readonly structured: Record<string, unknown>;
  readonly isError: boolean;
}

/** Longest cell shown in a table (a masked value is short; free text is cut). */
const MAX_CELL_CHARS = 200;

function cell(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const flat = text.replace(/\s+/g, " ").replace(/\|/g, "\\|");
  return flat.length > MAX_CELL_CHARS ? `${flat.slice(0, MAX_CELL_CHARS)}…` : flat;
}

/** A Markdown table of `rows`. */
export function markdownTable(columns: readonly ResultColumn[], rows: readonly unknown[][]): string {
  const header = `| ${columns.map((c) => cell(c.name)).join(" | ")} |`;
  const rule = `|${columns.map(() => "---").join("|")}|`;
  return [header, rule, ...rows.map((r) => `| ${columns.map((_, i) => cell(r[i])).join(" | ")} |`)].join(
    "\n",
  );
}

function maskingLines(columns: readonly ResultColumn[]): string[] {
  const masked = columns.filter((c) => c.masking !== null && c.masking.rule !== "detectors");
  const scanned = columns.filter((c) => c.masking?.rule === "detectors" || c.masking?.strategy === "detect");
  const lines: string[] = [];
  if (masked.length > 0) {
    lines.push(
      "Masked by policy (protected values are opaque; this is the intended result, not an error):",
      ...masked
        .filter((c) => c.masking?.strategy !== "detect")
        .map((c) => `- ${c.name}: ${c.masking?.strategy} (rule ${c.masking?.rule})`),
    );
  }
  if (scanned.length > 0)
    lines.push(
      `Scanned by the detectors (found identifiers replaced): ${scanned.map((c) => c.name).join(", ")}`,
    );
  return lines;
}

/** A completed statement: the masked rows shown (possibly the first of more), with the session id. */
export function renderResult(result: {
  readonly sessionId: string;
  readonly columns: readonly ResultColumn[];
  readonly rows: readonly unknown[][];
  readonly rowCount: number;
  readonly truncated: boolean;
}): Rendered {
  const shown = result.rows.length;
  const notes = [
    `Session ${result.sessionId}: ${result.rowCount} row(s)${result.truncated ? ", cut by the policy's row cap" : ""}.`,
    ...(shown < result.rowCount
      ? [
          `Showing the first ${shown} (an answer shows a bounded number of rows and characters); ask for fewer or narrower rows (a LIMIT, an aggregate, fewer columns) to see the rest here.`,
        ]
      : []),
    ...maskingLines(result.columns),
  ];
  return {
    text: `${notes.join("\n")}\n\n${markdownTable(result.columns, result.rows)}`,
    structured: {
      status: "completed",
      sessionId: result.sessionId,
      columns: result.columns,
      rows: result.rows,
      rowCount: result.rowCount,
      rowsShown: shown,
      truncated: result.truncated,
    },
    isError: false,
  };
}

/** A statement waiting for an approver: the id, the reasons, the link for a human; the agent is not blocked. */
export function renderPending(pending: PendingApproval, link: string): Rendered {
  const { approval } = pending;
  return {
    text: [
      `This statement needs a human's approval before it runs (session ${pending.sessionId}, approval ${approval.id}, open until ${approval.expiresAt}).`,
      "Why:",
      ...approval.reasons.map((r) => `- ${r}`),
      `Give this link to a person who may approve it: ${link}`,
      `Then call wait_for_approval with {"sessionId": "${pending.sessionId}"}. Do not resubmit or rephrase the statement to avoid the approval: every submission is recorded and needs its own.`,
    ].join("\n"),
    structured: {
      status: "pending_approval",
      sessionId: pending.sessionId,
      approvalId: approval.id,
      expiresAt: approval.expiresAt,
      reasons: approval.reasons,
      link,
    },
    isError: false,
  };
}

/** A session still waiting when the wait ended. */
export function renderWaiting(waiting: Waiting, link: string | undefined): Rendered {
  const quorum = waiting.quorum === undefined ? "" : `/${waiting.quorum}`;
  const phase =
    waiting.status === "pending_approval"
      ? `still waiting for approval (${waiting.approvals}${quorum} approval(s) so far${waiting.expiresAt === undefined ? "" : `, open until ${waiting.expiresAt}`})`
      : `approved and ${waiting.status}`;
  return {
    text: `Session ${waiting.sessionId} is ${phase}.${link === undefined ? "" : ` Approvers decide at ${link}.`} Call wait_for_approval again.`,
    structured: {
      status: waiting.status,
      sessionId: waiting.sessionId,
      approvals: waiting.approvals,
      ...(waiting.approvalId === undefined ? {} : { approvalId: waiting.approvalId }),
      ...(waiting.quorum === undefined ? {} : { quorum: waiting.quorum }),
      ...(waiting.expiresAt === undefined ? {} : { expiresAt: waiting.expiresAt }),
      ...(link === undefined ? {} : { link }),
    },
    isError: false,
  };
}

function advice(failure: Failure): string {
  switch (failure.code) {
    case "policy_denied":
      return "The policy refused this statement. Change what you ask for (see describe); do not rewrite the statement to reach the same protected values another way: every attempt is recorded.";
    case "approval_denied":
      return "An approver denied this statement. Do not resubmit it; ask the person why if you need the data.";
    case "approval_expired":
      return "No approver decided in time. Ask a person before submitting it again.";
    case "unauthorized":
    case "no_token":
    case "token_request_failed":
      return "The gateway did not accept the identity this server runs with. Retrying will not help: a person must give it a valid token.";
    case "invalid_sql":
    case "multiple_statements":
    case "unsupported_statement":
      return "Send exactly one read-only statement (SELECT, WITH … SELECT, VALUES, TABLE).";
    case "rate_limited":
      return "Too many requests: wait a minute before the next one.";
    default:
      return failure.status >= 500
        ? "The gateway or its database is unavailable; try again later."
        : "The statement was not run.";
  }
}

/** A refusal or failure, with its code, the gateway's reason and what to do (and not do) next. */
export function renderFailure(failure: Failure): Rendered {
  const session = failure.sessionId === undefined ? "" : ` (session ${failure.sessionId})`;
  return {
    text: `${failure.code}: ${failure.message}${session}\n${advice(failure)}`,
    structured: {
      status: "error",
      code: failure.code,
      message: failure.message,
      ...(failure.sessionId === undefined ? {} : { sessionId: failure.sessionId }),
    },
    isError: true,
  };
}
