// How the CLI reports a failure on stderr: one visible line per gateway-made part, never an escape sequence.

import { CliError } from "#cli/cli-error.ts";
import { oneLine, printable } from "#cli/safe-text.ts";

/** The stderr text of a failure (`code: message (session id)`), and its exit status. */
export function errorReport(error: unknown, fallbackExit: number): { text: string; exitCode: number } {
  if (error instanceof CliError) {
    // Gateway-made parts are one line already (contractError); usage texts keep their lines, escapes never.
    const session = error.sessionId === undefined ? "" : ` (session ${oneLine(error.sessionId)})`;
    return {
      text: `${oneLine(error.code)}: ${printable(error.message)}${session}\n`,
      exitCode: error.exitCode,
    };
  }
  return {
    text: `error: ${oneLine(error instanceof Error ? error.message : String(error))}\n`,
    exitCode: fallbackExit,
  };
}
