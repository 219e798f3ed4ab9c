// /mcp: the remote MCP endpoint (Streamable HTTP, stateless), its tools calling the core for the token's caller.

import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { MethodNotAllowedError } from "#shared/errors.ts";
import { type ApiDeps, type ApiHandler, jwtHandler } from "#shared/http/api-handler.ts";
import { CoreGatewayClient } from "#shared/http/core-gateway-client.ts";
import { API_HEADERS } from "#shared/http/error-response.ts";
import { clientOf } from "#shared/http/handlers/post-query.ts";
import { MAX_BODY_BYTES } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import { createPhigateMcpServer, DEFAULT_MAX_ROWS, MAX_SHOWN_CHARS } from "#shared/mcp/phigate-mcp-server.ts";
import type { QueryDeps } from "#shared/query/deps.ts";
import { GENERATOR } from "#shared/version.ts";

/**
 * The longest `wait_for_approval` of one request: a route has 29 s on API Gateway, and a wait ends with at most one
 * more session read.
 */
export const REMOTE_MAX_WAIT_SECONDS = 20;

/** Whether a POST body is a JSON-RPC batch of more than one message (anything else goes to the transport as it is). */
function isBatch(body: string): boolean {
  if (!body.trimStart().startsWith("[")) return false;
  try {
    const parsed: unknown = JSON.parse(body);
    return Array.isArray(parsed) && parsed.length > 1;
  } catch {
    return false;
  }
}

/** The JSON-RPC error a batch is answered with. */
function batchRefused(): Response {
  return new Response(
    JSON.stringify({
      jsonrpc: "2.0",
      error: {
        code: -32600,
        message:
          "Invalid Request: batches are not accepted; send one message per POST (each counts against the caller's rate limit)",
      },
      id: null,
    }),
    {
      status: 400,
      headers: { ...API_HEADERS, "content-type": "application/json" },
    },
  );
}

/**
 * The `mcp` route handler. Each POST is one stateless exchange: the bearer token is verified as on every route, then a
 * fresh MCP server answers it with tools bound to that caller (`CoreGatewayClient`), in JSON (no stream is held open:
 * API Gateway could not hold one). GET (a server-sent stream) and DELETE (ending a session) have nothing to serve
 * without sessions: 405, which the protocol allows.
 */
export function createMcpHandler(deps: ApiDeps & QueryDeps): ApiHandler {
  return jwtHandler(deps, "mcp", async (request, principal, context) => {
    if (request.method !== "POST")
      throw new MethodNotAllowedError("this MCP endpoint is stateless: send each message with POST");
    // The tools show at most MAX_SHOWN_CHARS of a result's rows, and at most DEFAULT_MAX_ROWS rows: an answer carries
    // no more (a 4 MB inline result is not parsed whole for one page of it).
    const client = new CoreGatewayClient(
      deps,
      { principal, client: clientOf(request, context) },
      { inlineRowChars: MAX_SHOWN_CHARS, inlineRows: DEFAULT_MAX_ROWS },
    );
    const server = createPhigateMcpServer(client, {
      version: GENERATOR.version,
      maxWaitSeconds: REMOTE_MAX_WAIT_SECONDS,
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      enableJsonResponse: true,
      maxRequestBodySize: MAX_BODY_BYTES,
    });
    // One JSON-RPC message per POST (a batch of one too): a batch of a hundred tool calls was one request to the
    // rate limiter, and one principal queued minutes of the main thread with a few of them (the forty-second outside
    // attack). The protocol's current version has no batches.
    const body = await request.text();
    // A body over the bound is the transport's to refuse (413) unparsed.
    if (body.length <= MAX_BODY_BYTES && isBatch(body)) return batchRefused();
    try {
      await server.connect(transport);
      const answer = await transport.handleRequest(
        new Request(request.url, { method: "POST", headers: request.headers, body }),
      );
      const headers = new Headers(answer.headers);
      for (const name of ["cache-control", "x-content-type-options"])
        headers.set(name, API_HEADERS[name] ?? "");
      return new Response(answer.body, { status: answer.status, headers });
    } finally {
      await server.close();
    }
  });
}

/** The `mcp` route: it submits and reads queries exactly as `post-query` and `get-session` do, and links approvals. */
export const route = defineRoute({
  id: "mcp",
  method: ["POST", "GET", "DELETE"],
  path: "/mcp",
  auth: "jwt",
  docs: {
    summary: "The remote MCP endpoint (Streamable HTTP, stateless)",
    description:
      "JSON-RPC messages of the Model Context Protocol, one exchange per POST, answered in JSON; tools query, wait_for_approval, describe and explain_decision act as the token's caller. GET and DELETE answer 405 (no sessions, no server-sent stream).",
    responses: {
      200: "the JSON-RPC response",
      202: "a notification or response was accepted (no body)",
      400: "a malformed JSON-RPC message, or a batch of several (a JSON-RPC error body)",
      401: "unauthorized: no token, or a token the gateway does not trust",
      405: "method_not_allowed: GET and DELETE (the endpoint keeps no session)",
      406: "the client does not accept both application/json and text/event-stream",
      429: "rate_limited: too many requests from this caller (Retry-After)",
    },
  },
  needsParser: true,
  capabilities: {
    database: true,
    keys: true,
    sessions: "write",
    results: "write",
    approvals: "write",
    workflow: "start",
    policyArchive: "write",
    publicUrl: true,
  },
  create: createMcpHandler,
});
