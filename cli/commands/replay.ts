// `phigate replay ID [--html]`: the recorded exchange of a session, as JSON or as the auditor's HTML page.

import { parseArgs } from "node:util";
import { EXIT } from "#cli/cli-error.ts";
import { callJson, callText } from "#cli/client.ts";
import { printable, stringifyForTerminal } from "#cli/safe-text.ts";
import { commandTarget, GATEWAY_OPTIONS } from "#cli/session-command-args.ts";

/** Usage text. */
export const REPLAY_USAGE = `phigate replay SESSION_ID [--html] [--token T] [--url URL] [--audience A]
  Prints the session's replay: request, classification, decision, approvals, execution and the masked
  response with the chain digest of every record version (JSON; --html: the same as a self-contained page).
  The requester and auditors may replay a session.`;

/** Runs the command; returns the exit status. */
export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      html: { type: "boolean", default: false },
      ...GATEWAY_OPTIONS,
    },
    allowPositionals: true,
    strict: true,
  });
  const { id, gateway, token } = await commandTarget(values, positionals, REPLAY_USAGE);
  const url = `${gateway}/v1/sessions/${encodeURIComponent(id)}/replay`;
  if (values.html) {
    process.stdout.write(printable(await callText(`${url}?format=html`, { token, accept: "text/html" })));
    return EXIT.ok;
  }
  const { body } = await callJson(url, { method: "GET", token });
  process.stdout.write(`${stringifyForTerminal(body, 2)}\n`);
  return EXIT.ok;
}
