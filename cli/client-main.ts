// The standalone client's entry (packages/client): the CLIENT_COMMANDS of `phigate`, bundled into one file.

import { CLIENT_COMMANDS } from "#cli/client-commands.ts";
import { runCli } from "#cli/dispatch.ts";

runCli(CLIENT_COMMANDS, process.argv.slice(2));
