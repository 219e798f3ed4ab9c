// Where the CLI gets its token: --token, PHIGATE_TOKEN, or GitHub Actions' OIDC token request.

import { CliError, EXIT } from "#cli/cli-error.ts";

/** A source of bearer tokens that can be asked again (GitHub tokens live ~5 minutes). */
export interface TokenSource {
  token(): Promise<string>;
  /** Whether a fresh token can be fetched when the current one expires. */
  readonly refreshable: boolean;
}

async function githubActionsToken(audience: string): Promise<string> {
  const requestUrl = process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl === undefined || requestToken === undefined) {
    throw new CliError(
      "no_token",
      "no token: pass --token, set PHIGATE_TOKEN, or run in GitHub Actions with `permissions: id-token: write`",
      EXIT.usage,
    );
  }
  const url = new URL(requestUrl);
  url.searchParams.set("audience", audience);
  const { readAll, send } = await import("#cli/http.ts");
  const response = await send(url.toString(), {
    method: "GET",
    headers: { authorization: `Bearer ${requestToken}`, accept: "application/json" },
    maxBytes: 1024 * 1024,
    what: "GitHub Actions' OIDC token endpoint",
  });
  const text = (await readAll(response)).toString("utf8");
  if (response.status !== 200)
    throw new CliError(
      "token_request_failed",
      `GitHub Actions refused the OIDC token request (${response.status})`,
      EXIT.error,
    );
  let body: { value?: unknown } | null;
  try {
    body = JSON.parse(text) as { value?: unknown } | null;
  } catch {
    body = null;
  }
  if (typeof body?.value !== "string")
    throw new CliError("token_request_failed", "GitHub Actions returned no token", EXIT.error);
  return body.value;
}

/** The token source for a command: an explicit token wins, then PHIGATE_TOKEN, then GitHub Actions OIDC. */
export function tokenSource(flag: string | undefined, audience: string): TokenSource {
  const fixed = flag ?? process.env.PHIGATE_TOKEN;
  if (fixed !== undefined && fixed !== "") return { token: async () => fixed, refreshable: false };
  return { token: () => githubActionsToken(audience), refreshable: true };
}
