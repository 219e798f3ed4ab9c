// Runs one statement as one `POST /v1/queries`: waits for an approver with notices, streams large results.

import { ProxyError } from "#cli/proxy/proxy-error.ts";
import { awaitSession } from "#shared/gateway-client/await-session.ts";
import {
  type GatewayClient,
  GatewayTransportError,
  type ResultColumn,
} from "#shared/gateway-client/gateway-client.ts";
import { type QueryResult, queryOutcome, type Waiting } from "#shared/gateway-client/outcomes.ts";

/** A statement's result as it is sent: columns first, then rows as they arrive. */
export interface StatementResult {
  readonly sessionId: string;
  readonly columns: readonly ResultColumn[];
  readonly rows: AsyncIterator<unknown[]>;
}

/** What running a statement needs besides the statement. */
export interface RunContext {
  readonly signal: AbortSignal;
  /** Sends a NoticeResponse to the client. */
  readonly notice: (message: string, detail?: string) => void;
  readonly purpose?: string;
}

/** Shortest interval between two "still waiting" notices when nothing changed. */
const QUIET_NOTICE_MS = 5 * 60_000;

function transportProblem(error: unknown): ProxyError | undefined {
  if (error instanceof GatewayTransportError)
    return ProxyError.fromFailure({ kind: "failure", status: 503, code: error.code, message: error.message });
  return undefined;
}

/** A transport failure (gateway unreachable, broken download) as the ErrorResponse to send; anything else as is. */
export function asProxyError(error: unknown): unknown {
  return transportProblem(error) ?? error;
}

function summary(result: QueryResult): string | undefined {
  const masked = result.columns.filter((c) => c.masking !== null && c.masking.rule !== "detectors");
  const parts: string[] = [];
  if (masked.length > 0)
    parts.push(
      `${masked.length} masked column(s): ${masked.map((c) => `${c.name} (${c.masking?.strategy})`).join(", ")}`,
    );
  if (result.truncated) parts.push(`result cut at the policy's row cap (${result.rowCount} rows)`);
  return parts.length === 0 ? undefined : `phigate session ${result.sessionId}: ${parts.join("; ")}`;
}

async function rowsOf(client: GatewayClient, result: QueryResult): Promise<AsyncIterator<unknown[]>> {
  if (result.resultUrl !== undefined) {
    const stream = await client.openResult(result.resultUrl, result.resultSha256);
    return stream.rows[Symbol.asyncIterator]();
  }
  const rows = result.rows ?? [];
  return (async function* () {
    yield* rows;
  })();
}

async function waitForApprover(
  client: GatewayClient,
  pending: { sessionId: string; approval: { id: string; expiresAt: string; reasons: readonly string[] } },
  context: RunContext,
): Promise<QueryResult> {
  const { approval, sessionId } = pending;
  context.notice(
    `phigate: this statement needs approval ${approval.id} before it runs (session ${sessionId}, open until ${approval.expiresAt}); an approver decides at ${client.approvalLink(approval.id)} — waiting`,
    `why: ${approval.reasons.join("; ")}`,
  );
  let last = "";
  let lastAt = Date.now();
  const onWaiting = (state: Waiting): void => {
    const key = `${state.status}/${state.approvals}`;
    if (key === last && Date.now() - lastAt < QUIET_NOTICE_MS) return;
    if (last !== "" || key !== "pending_approval/0")
      context.notice(
        state.status === "pending_approval"
          ? `phigate: still waiting for approval ${approval.id}: ${state.approvals}/${state.quorum ?? "?"} approval(s)`
          : `phigate: approval ${approval.id} granted; the statement is ${state.status}`,
      );
    last = key;
    lastAt = Date.now();
  };
  let outcome: Awaited<ReturnType<typeof awaitSession>>;
  try {
    outcome = await awaitSession(client, sessionId, { signal: context.signal, onWaiting });
  } catch (error) {
    if (!context.signal.aborted) throw asProxyError(error);
    throw new ProxyError(
      "57014",
      "canceling statement due to user request",
      `phigate session ${sessionId}`,
      `Approval ${approval.id} stays open: if an approver approves it, the gateway runs the statement and keeps the result in session ${sessionId}.`,
    );
  }
  if (outcome.kind === "failure") throw ProxyError.fromFailure(outcome);
  if (outcome.kind === "waiting")
    throw new ProxyError("XX000", "the session stopped waiting without a decision");
  return outcome;
}

/**
 * Sends the statement to the gateway and answers its result: at once for a `200`; after the approvers decide for a
 * `202` (a notice names the approval and its link, more notices follow as approvals arrive; cancelling stops the
 * wait, never the approval); a failure as a {@link ProxyError} with the gateway's code and a SQLSTATE.
 */
export async function runStatement(
  client: GatewayClient,
  statement: { readonly sql: string; readonly params: readonly (string | null)[] },
  context: RunContext,
): Promise<StatementResult> {
  try {
    // Never aborted in flight: the gateway records the statement either way, and a cancel must be able to say so.
    const answer = await client.postQuery({
      sql: statement.sql,
      ...(statement.params.length === 0 ? {} : { params: statement.params }),
      ...(context.purpose === undefined ? {} : { purpose: context.purpose }),
    });
    const outcome = queryOutcome(answer);
    if (outcome.kind === "failure") throw ProxyError.fromFailure(outcome);
    const result = outcome.kind === "pending" ? await waitForApprover(client, outcome, context) : outcome;
    if (context.signal.aborted)
      throw new ProxyError(
        "57014",
        "canceling statement due to user request",
        `phigate session ${result.sessionId}`,
        `The statement completed on the gateway; its result stays in session ${result.sessionId}.`,
      );
    const note = summary(result);
    if (note !== undefined) context.notice(note);
    return { sessionId: result.sessionId, columns: result.columns, rows: await rowsOf(client, result) };
  } catch (error) {
    if (context.signal.aborted && !(error instanceof ProxyError))
      throw new ProxyError("57014", "canceling statement due to user request");
    throw asProxyError(error);
  }
}
