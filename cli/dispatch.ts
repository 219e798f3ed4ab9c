// Runs one sub-command of a command table and maps failures to exit statuses (the full CLI and the client share it).

import { CliError, EXIT } from "#cli/cli-error.ts";
import { errorReport } from "#cli/error-text.ts";

/** A sub-command: what runs it and its usage text. */
export interface Command {
  readonly run: (argv: string[]) => Promise<number>;
  readonly usage: string;
}

/** Sub-commands by name. */
export type CommandTable = Readonly<Record<string, Command>>;

function usage(commands: CommandTable): string {
  return `usage: phigate <command> [options]\n\n${Object.values(commands)
    .map((c) => c.usage)
    .join("\n\n")}\n`;
}

async function dispatch(commands: CommandTable, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage(commands));
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined)
    throw new CliError("usage", `unknown command ${name}\n\n${usage(commands)}`, EXIT.usage);
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      throw new CliError("usage", `${error.message}\n\n${command.usage}`, EXIT.usage);
    }
    throw error;
  }
}

/** Runs the command `argv` names and sets the process's exit status; failures are printed as `code: message`. */
export function runCli(commands: CommandTable, argv: string[]): void {
  dispatch(commands, argv).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      const report = errorReport(error, EXIT.error);
      process.stderr.write(report.text);
      process.exitCode = report.exitCode;
    },
  );
}
