// What every command about one session or approval shares: its id, the gateway's URL and a token.

import { CliError, EXIT } from "./cli-error.ts";
import { gatewayUrl } from "./client.ts";
import { tokenSource } from "./token-source.ts";

/** `--token`, `--url` and `--audience`, spread into the command's own `parseArgs` options. */
export const GATEWAY_OPTIONS = {
  token: { type: "string" },
  url: { type: "string" },
  audience: { type: "string" },
} as const;

/** The one id a command was given, the gateway to ask and the caller's token. */
export interface CommandTarget {
  readonly id: string;
  readonly gateway: string;
  readonly token: string;
}

/**
 * Takes exactly one positional id (none or a second one is a usage error) and resolves the token: `--token`,
 * `PHIGATE_TOKEN`, or GitHub Actions' OIDC request for `--audience` (default `phigate`).
 */
export async function commandTarget(
  values: { readonly token?: string; readonly url?: string; readonly audience?: string },
  positionals: readonly string[],
  usage: string,
): Promise<CommandTarget> {
  const id = positionals[0];
  if (id === undefined || positionals.length > 1) throw new CliError("usage", usage, EXIT.usage);
  const token = await tokenSource(values.token, values.audience ?? "phigate").token();
  return { id, gateway: gatewayUrl(values.url), token };
}
