// `phigate session ID`: prints a session record as the gateway shows it to the caller.

import { parseArgs } from "node:util";
import { EXIT } from "#cli/cli-error.ts";
import { callJson } from "#cli/client.ts";
import { stringifyForTerminal } from "#cli/safe-text.ts";
import { commandTarget, GATEWAY_OPTIONS } from "#cli/session-command-args.ts";

/** Usage text. */
export const SESSION_USAGE = `phigate session SESSION_ID [--wait SECONDS] [--token T] [--url URL] [--audience A]
  Prints the session record (JSON).`;

/** Runs the command; returns the exit status. */
export async function sessionCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      wait: { type: "string" },
      ...GATEWAY_OPTIONS,
    },
    allowPositionals: true,
    strict: true,
  });
  const { id, gateway, token } = await commandTarget(values, positionals, SESSION_USAGE);
  const query = values.wait === undefined ? "" : `?wait=${encodeURIComponent(values.wait)}`;
  const { body } = await callJson(`${gateway}/v1/sessions/${encodeURIComponent(id)}${query}`, {
    method: "GET",
    token,
  });
  process.stdout.write(`${stringifyForTerminal(body, 2)}\n`);
  return EXIT.ok;
}
