// The MCP server: query, wait_for_approval, describe and explain_decision, each a call of the gateway's API.

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import { awaitSession } from "#shared/gateway-client/await-session.ts";
import { type GatewayClient, GatewayTransportError } from "#shared/gateway-client/gateway-client.ts";
import { type Failure, failureOf, type QueryResult, queryOutcome } from "#shared/gateway-client/outcomes.ts";
import {
  type Rendered,
  renderFailure,
  renderPending,
  renderResult,
  renderWaiting,
} from "#shared/mcp/render.ts";
import { renderCatalog, renderDryRun } from "#shared/mcp/render-explain.ts";
import {
  DESCRIBE_DESCRIPTION,
  EXPLAIN_DESCRIPTION,
  QUERY_DESCRIPTION,
  SERVER_INSTRUCTIONS,
  waitDescription,
} from "#shared/mcp/tool-texts.ts";

/** How the server presents itself and how much of a result it shows a model. */
export interface PhigateMcpOptions {
  readonly version: string;
  /** Rows of a result shown to the model (the rest is counted, not shown); default 100. */
  readonly maxRows?: number;
  /** The longest wait `wait_for_approval` accepts, seconds; default 60 (a host whose requests end sooner asks less). */
  readonly maxWaitSeconds?: number;
  readonly now?: () => number;
}

/** Rows an answer shows at most, unless the server is built with `maxRows`. */
export const DEFAULT_MAX_ROWS = 100;
const DEFAULT_WAIT_SECONDS = 30;
const MAX_WAIT_SECONDS = 60;

const scalar = z.union([z.string().max(100_000), z.number(), z.boolean(), z.null()]);
const statementShape = {
  sql: z.string().min(1).max(100_000).describe("One read-only SQL statement (PostgreSQL dialect)."),
  params: z
    .array(scalar)
    .max(1_000)
    .optional()
    .describe("Values for $1, $2 … in order (strings, numbers, booleans or null)."),
  purpose: z
    .string()
    .trim()
    .min(1)
    .max(1_000)
    .optional()
    .describe("Why you need this data; recorded with the session and shown to approvers."),
};

function toolResult(rendered: Rendered): CallToolResult {
  return {
    content: [{ type: "text", text: rendered.text }],
    structuredContent: rendered.structured,
    isError: rendered.isError,
  };
}

function transportFailure(error: GatewayTransportError): Failure {
  return { kind: "failure", status: 503, code: error.code, message: error.message };
}

/** Runs `work`; a transport failure (gateway unreachable, a broken download) becomes an error result. */
async function guarded(work: () => Promise<Rendered>): Promise<CallToolResult> {
  try {
    return toolResult(await work());
  } catch (error) {
    if (error instanceof GatewayTransportError) return toolResult(renderFailure(transportFailure(error)));
    throw error;
  }
}

/**
 * The most characters of rows (as JSON) one answer shows: a model reads no more, and each answer's rows are held
 * decoded, rendered and serialized again. Counted by rows, 100 rows of nested JSON values took ~140 MB per call,
 * and 45 concurrent calls ended the gateway's process (the forty-first outside attack).
 */
export const MAX_SHOWN_CHARS = 256 * 1024;

/** The first rows that fit both `maxRows` and {@link MAX_SHOWN_CHARS}; reading stops at the first that does not. */
async function firstRowsWithin(rows: AsyncIterable<unknown[]> | Iterable<unknown[]>, maxRows: number) {
  const shown: unknown[][] = [];
  let chars = 0;
  if (maxRows <= 0) return shown;
  for await (const row of rows) {
    chars += JSON.stringify(row).length;
    if (chars > MAX_SHOWN_CHARS) break;
    shown.push(row);
    if (shown.length >= maxRows) break;
  }
  return shown;
}

async function shownRows(client: GatewayClient, result: QueryResult, maxRows: number): Promise<unknown[][]> {
  if (result.resultUrl === undefined) return firstRowsWithin(result.rows ?? [], maxRows);
  // A stored result opened is read (its read slot is given back when the reading ends), so none is opened for nothing.
  if (maxRows <= 0) return [];
  const stream = await client.openResult(result.resultUrl, result.resultSha256);
  return firstRowsWithin(stream.rows, maxRows);
}

/**
 * Builds the MCP server over a {@link GatewayClient}: every tool is one or more calls of the gateway's HTTP API with
 * the client's identity, so identity, policy, masking, approvals and records hold unchanged. The same server serves
 * stdio (`phigate mcp`) and, given a client for the caller of a request, a remote endpoint.
 */
export function createPhigateMcpServer(client: GatewayClient, options: PhigateMcpOptions): McpServer {
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const maxWait = options.maxWaitSeconds ?? MAX_WAIT_SECONDS;
  const defaultWait = Math.min(DEFAULT_WAIT_SECONDS, maxWait);
  const now = options.now ?? Date.now;
  /** Approval id → session id, for the queries made through this server (the API looks sessions up by id). */
  const sessions = new Map<string, string>();
  const server = new McpServer(
    { name: "phigate", version: options.version },
    { instructions: SERVER_INSTRUCTIONS, capabilities: { tools: {} } },
  );
  const completed = async (result: QueryResult): Promise<Rendered> =>
    renderResult({ ...result, rows: await shownRows(client, result, maxRows) });

  server.registerTool(
    "query",
    {
      title: "Run a SQL statement through phigate",
      description: QUERY_DESCRIPTION,
      inputSchema: statementShape,
      annotations: {
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    ({ sql, params, purpose }, extra) =>
      guarded(async () => {
        const outcome = queryOutcome(
          await client.postQuery(
            {
              sql,
              ...(params === undefined ? {} : { params }),
              ...(purpose === undefined ? {} : { purpose }),
            },
            extra.signal,
          ),
        );
        switch (outcome.kind) {
          case "result":
            return completed(outcome);
          case "pending":
            sessions.set(outcome.approval.id, outcome.sessionId);
            return renderPending(outcome, client.approvalLink(outcome.approval.id));
          default:
            return renderFailure(outcome);
        }
      }),
  );

  server.registerTool(
    "wait_for_approval",
    {
      title: "Wait for a statement that needs approval",
      description: waitDescription(defaultWait, maxWait),
      inputSchema: {
        sessionId: z.string().max(64).optional().describe("The session id the query tool returned."),
        approvalId: z.string().max(64).optional().describe("The approval id the query tool returned."),
        seconds: z
          .number()
          .int()
          .min(0)
          .max(maxWait)
          .optional()
          .describe(`How long to wait at most (default ${defaultWait}).`),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ sessionId, approvalId, seconds }, extra) =>
      guarded(async () => {
        const id = sessionId ?? (approvalId === undefined ? undefined : sessions.get(approvalId));
        if (id === undefined) {
          return renderFailure({
            kind: "failure",
            status: 400,
            code: "unknown_approval",
            message:
              approvalId === undefined
                ? "pass the sessionId (or approvalId) the query tool returned"
                : "this server did not submit that approval; pass the sessionId the query tool returned",
          });
        }
        const outcome = await awaitSession(client, id, {
          deadline: now() + (seconds ?? defaultWait) * 1000,
          signal: extra.signal,
          now,
        });
        switch (outcome.kind) {
          case "result":
            return completed(outcome);
          case "waiting":
            return renderWaiting(
              outcome,
              outcome.approvalId === undefined ? undefined : client.approvalLink(outcome.approvalId),
            );
          default:
            return renderFailure(outcome);
        }
      }),
  );

  server.registerTool(
    "describe",
    {
      title: "List the tables and columns you may read",
      description: DESCRIBE_DESCRIPTION,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (extra) =>
      guarded(async () => {
        const answer = await client.describe(extra.signal);
        if (answer.status === 404)
          return renderFailure({
            kind: "failure",
            status: 404,
            code: "describe_unavailable",
            message:
              "this gateway does not describe its catalog yet (GET /v1/catalog); use explain_decision to check a statement",
          });
        if (answer.status !== 200) return renderFailure(failureOf(answer));
        return (
          renderCatalog(answer.body) ??
          renderFailure({ ...failureOf(answer), code: "bad_response", message: "unreadable catalog" })
        );
      }),
  );

  server.registerTool(
    "explain_decision",
    {
      title: "Explain what phigate would decide for a statement (dry run)",
      description: EXPLAIN_DESCRIPTION,
      inputSchema: statementShape,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ sql, params, purpose }, extra) =>
      guarded(async () => {
        const answer = await client.postQuery(
          {
            sql,
            dryRun: true,
            ...(params === undefined ? {} : { params }),
            ...(purpose === undefined ? {} : { purpose }),
          },
          extra.signal,
        );
        if (answer.status !== 200) return renderFailure(failureOf(answer));
        return (
          renderDryRun(answer.body) ??
          renderFailure({ ...failureOf(answer), code: "bad_response", message: "unreadable dry run" })
        );
      }),
  );

  return server;
}
