// `phigate mcp`: the Model Context Protocol on stdin/stdout for an agent, each tool a call of the gateway's API.

import { parseArgs } from "node:util";
import { EXIT } from "#cli/cli-error.ts";
import { gatewayUrl } from "#cli/client.ts";
import { tokenSource } from "#cli/token-source.ts";
import { GENERATOR } from "#shared/version.ts";

/** Usage text. */
export const MCP_USAGE = `phigate mcp [--token T] [--url URL] [--audience A] [--max-rows N]
  Serves the Model Context Protocol on stdin/stdout for an agent (Claude Code, Cursor, a CI agent): tools query,
  wait_for_approval, describe and explain_decision, each a request to the gateway with this identity (--token,
  PHIGATE_TOKEN, or GitHub Actions' OIDC for the audience, refreshed as it ages). Results show at most --max-rows
  rows (default 100). Nothing but the protocol is written on stdout.`;

/** Runs the server until stdin closes; returns the exit status. */
export async function mcpCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      token: { type: "string" },
      url: { type: "string" },
      audience: { type: "string" },
      "max-rows": { type: "string" },
    },
    strict: true,
  });
  const maxRows = values["max-rows"] === undefined ? undefined : Number(values["max-rows"]);
  // Loaded here, so the CLI's other commands start without the MCP SDK.
  const [{ StdioServerTransport }, { HttpGatewayClient }, { createPhigateMcpServer }] = await Promise.all([
    import("@modelcontextprotocol/sdk/server/stdio.js"),
    import("#cli/http-gateway-client.ts"),
    import("#shared/mcp/phigate-mcp-server.ts"),
  ]);
  const client = new HttpGatewayClient(
    gatewayUrl(values.url),
    tokenSource(values.token, values.audience ?? "phigate"),
  );
  const server = createPhigateMcpServer(client, {
    version: GENERATOR.version,
    ...(maxRows !== undefined && Number.isInteger(maxRows) && maxRows >= 0 ? { maxRows } : {}),
  });
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = resolve;
    process.stdin.once("end", () => void server.close());
  });
  await server.connect(new StdioServerTransport());
  await closed;
  return EXIT.ok;
}
