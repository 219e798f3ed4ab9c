// Keeps a usable bearer token for a long-running client (proxy, MCP server): refreshed before it expires when it can be.

import { CliError } from "#cli/cli-error.ts";
import type { TokenSource } from "#cli/token-source.ts";
import { tokenExpiry } from "#cli/wait-for-approval.ts";

/** Seconds before expiry at which a refreshable token is replaced. */
const REFRESH_MARGIN_SECONDS = 60;

/** A token that could not be had: the code and message to show in place of the gateway's answer. */
export interface TokenProblem {
  readonly code: string;
  readonly message: string;
}

/**
 * The current token of a {@link TokenSource}: fetched on first use, fetched again shortly before it expires when
 * the source is refreshable (GitHub Actions' tokens live about five minutes), and on demand after a `401`.
 */
export class TokenKeeper {
  private current: string | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly source: TokenSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** A token to send now. Throws {@link CliError} when the source cannot give one. */
  async token(): Promise<string> {
    const current = this.current;
    if (current !== undefined) {
      const exp = tokenExpiry(current);
      const stale =
        this.source.refreshable && exp !== undefined && exp - this.now() / 1000 < REFRESH_MARGIN_SECONDS;
      if (!stale) return current;
    }
    return this.fetch();
  }

  /** After a `401`: a fresh token when the source can give one (true), else false (the answer stands). */
  async renew(): Promise<boolean> {
    if (!this.source.refreshable) return false;
    await this.fetch();
    return true;
  }

  private fetch(): Promise<string> {
    this.pending ??= this.source.token().then(
      (token) => {
        this.current = token;
        this.pending = undefined;
        return token;
      },
      (error: unknown) => {
        this.pending = undefined;
        throw error;
      },
    );
    return this.pending;
  }
}

/** The code and message of a failure to get a token (a {@link CliError} from the source, or anything else). */
export function tokenProblem(error: unknown): TokenProblem {
  if (error instanceof CliError) return { code: error.code, message: error.message };
  return { code: "token_request_failed", message: `no token: ${(error as Error).message}` };
}
