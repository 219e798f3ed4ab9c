// `phigate session ID`: prints a session record as the gateway shows it to the caller.

import { parseArgs } from "node:util";
import { CliError, callJson, EXIT, gatewayUrl } from "#cli/client.ts";
import { tokenSource } from "#cli/token-source.ts";

/** Usage text. */
export const SESSION_USAGE = `phigate session SESSION_ID [--wait SECONDS] [--token T] [--url URL] [--audience A]
  Prints the session record (JSON).`;

/** Runs the command; returns the exit status. */
export async function sessionCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      wait: { type: "string" },
      token: { type: "string" },
      url: { type: "string" },
      audience: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  const id = positionals[0];
  if (id === undefined || positionals.length > 1) throw new CliError("usage", SESSION_USAGE, EXIT.usage);
  const token = await tokenSource(values.token, values.audience ?? "phigate").token();
  const query = values.wait === undefined ? "" : `?wait=${encodeURIComponent(values.wait)}`;
  const { body } = await callJson(`${gatewayUrl(values.url)}/v1/sessions/${encodeURIComponent(id)}${query}`, {
    method: "GET",
    token,
  });
  process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  return EXIT.ok;
}
