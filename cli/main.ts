// `phigate`: the command-line client — dispatches to one sub-command and maps failures to exit statuses.

import { CliError, EXIT } from "#cli/client.ts";
import { APPROVE_USAGE, approveCommand } from "#cli/commands/approve.ts";
import { EVIDENCE_USAGE, evidenceCommand } from "#cli/commands/evidence.ts";
import { MCP_USAGE, mcpCommand } from "#cli/commands/mcp.ts";
import { POLICY_USAGE, policyCommand } from "#cli/commands/policy.ts";
import { PROXY_USAGE, proxyCommand } from "#cli/commands/proxy.ts";
import { QUERY_USAGE, queryCommand } from "#cli/commands/query.ts";
import { REPLAY_USAGE, replayCommand } from "#cli/commands/replay.ts";
import { SEED_USAGE, seedCommand } from "#cli/commands/seed.ts";
import { SESSION_USAGE, sessionCommand } from "#cli/commands/session.ts";
import { TOKEN_USAGE, tokenCommand } from "#cli/commands/token.ts";
import { VERIFY_EVIDENCE_USAGE, verifyEvidenceCommand } from "#cli/commands/verify-evidence.ts";

const COMMANDS: Readonly<Record<string, { run: (argv: string[]) => Promise<number>; usage: string }>> = {
  approve: { run: approveCommand, usage: APPROVE_USAGE },
  policy: { run: policyCommand, usage: POLICY_USAGE },
  query: { run: queryCommand, usage: QUERY_USAGE },
  seed: { run: seedCommand, usage: SEED_USAGE },
  session: { run: sessionCommand, usage: SESSION_USAGE },
  token: { run: tokenCommand, usage: TOKEN_USAGE },
  replay: { run: replayCommand, usage: REPLAY_USAGE },
  evidence: { run: evidenceCommand, usage: EVIDENCE_USAGE },
  mcp: { run: mcpCommand, usage: MCP_USAGE },
  proxy: { run: proxyCommand, usage: PROXY_USAGE },
  "verify-evidence": { run: verifyEvidenceCommand, usage: VERIFY_EVIDENCE_USAGE },
};

function usage(): string {
  return `usage: phigate <command> [options]\n\n${Object.values(COMMANDS)
    .map((c) => c.usage)
    .join("\n\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (command === undefined) throw new CliError("usage", `unknown command ${name}\n\n${usage()}`, EXIT.usage);
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      throw new CliError("usage", `${error.message}\n\n${command.usage}`, EXIT.usage);
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(
        `${error.code}: ${error.message}${error.sessionId === undefined ? "" : ` (session ${error.sessionId})`}\n`,
      );
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT.error;
  },
);
