// The commands a CI job or an agent needs, all over HTTPS with fetch: what the standalone client package contains.

import { APPROVE_USAGE, approveCommand } from "#cli/commands/approve.ts";
import { GITHUB_ACTION_USAGE, githubActionCommand } from "#cli/commands/github-action.ts";
import { MCP_USAGE, mcpCommand } from "#cli/commands/mcp.ts";
import { PROXY_USAGE, proxyCommand } from "#cli/commands/proxy.ts";
import { QUERY_USAGE, queryCommand } from "#cli/commands/query.ts";
import { REPLAY_USAGE, replayCommand } from "#cli/commands/replay.ts";
import { SESSION_USAGE, sessionCommand } from "#cli/commands/session.ts";
import { TOKEN_USAGE, tokenCommand } from "#cli/commands/token.ts";
import type { CommandTable } from "#cli/dispatch.ts";

/** Commands that need nothing but the gateway's HTTP API (no database, no AWS SDK, no SQL parser). */
export const CLIENT_COMMANDS: CommandTable = {
  query: { run: queryCommand, usage: QUERY_USAGE },
  session: { run: sessionCommand, usage: SESSION_USAGE },
  approve: { run: approveCommand, usage: APPROVE_USAGE },
  replay: { run: replayCommand, usage: REPLAY_USAGE },
  token: { run: tokenCommand, usage: TOKEN_USAGE },
  proxy: { run: proxyCommand, usage: PROXY_USAGE },
  mcp: { run: mcpCommand, usage: MCP_USAGE },
  "github-action": { run: githubActionCommand, usage: GITHUB_ACTION_USAGE },
};
