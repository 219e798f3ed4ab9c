// How the CLI fails: CliError (a code, a message safe to print, an exit status) and the exit statuses.

/** A failure the CLI reports as `code: message` on stderr with a non-zero exit status. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number,
    readonly sessionId?: string,
  ) {
    super(message);
  }
}

/** Exit statuses: 0 success, 2 usage, 3 denied by policy or approver, 4 any other error, 5 approval expired. */
export const EXIT = { ok: 0, usage: 2, denied: 3, error: 4, expired: 5 } as const;
