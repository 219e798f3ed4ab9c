// `phigate token`: asks the local dev IdP for a token (development mode only).

import { parseArgs } from "node:util";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { callJson, gatewayUrl } from "#cli/client.ts";
import { oneLine } from "#cli/safe-text.ts";

/** Usage text. */
export const TOKEN_USAGE = `phigate token --sub SUBJECT [--group G]... [--claim NAME=VALUE]... [--ttl SECONDS] [--url URL]
  Prints a bearer token from the local dev IdP (development mode only).`;

/** Runs the command; returns the exit status. */
export async function tokenCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sub: { type: "string" },
      group: { type: "string", multiple: true },
      claim: { type: "string", multiple: true },
      ttl: { type: "string" },
      url: { type: "string" },
    },
    strict: true,
  });
  if (values.sub === undefined) throw new CliError("usage", TOKEN_USAGE, EXIT.usage);
  const claims: Record<string, string> = {};
  for (const pair of values.claim ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CliError("usage", `--claim expects NAME=VALUE, got ${pair}`, EXIT.usage);
    claims[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const body = {
    sub: values.sub,
    ...(values.group === undefined ? {} : { groups: values.group }),
    ...(Object.keys(claims).length === 0 ? {} : { claims }),
    ...(values.ttl === undefined ? {} : { ttlSeconds: Number(values.ttl) }),
  };
  const { body: answer } = await callJson(`${gatewayUrl(values.url)}/dev-idp/token`, {
    method: "POST",
    body,
  });
  const token = (answer as { access_token?: unknown }).access_token;
  if (typeof token !== "string")
    throw new CliError("bad_response", "the dev IdP returned no token", EXIT.error);
  process.stdout.write(`${oneLine(token)}\n`);
  return EXIT.ok;
}
