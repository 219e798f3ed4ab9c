// `phigate approve APPROVAL_ID [--deny]`: an approver's decision with a bearer token (the page is the usual way).

import { parseArgs } from "node:util";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { callJson } from "#cli/client.ts";
import { oneLine } from "#cli/safe-text.ts";
import { commandTarget, GATEWAY_OPTIONS } from "#cli/session-command-args.ts";

/** Usage text. */
export const APPROVE_USAGE = `phigate approve APPROVAL_ID [--deny] [--comment TEXT] [--binding SHA256]
                   [--token T] [--url URL] [--audience A]
  Approves (or with --deny, denies) an approval request as the token's principal, who must be an approver
  and not the requester. --binding refuses the decision unless the request is bound to that digest.
  Exit status: 0 recorded, 3 not allowed (not an approver, self-approval), 5 expired, 4 other error, 2 usage.`;

interface DecisionAnswer {
  readonly approvalId: string;
  readonly sessionId: string;
  readonly status: string;
  readonly approvals: number;
  readonly quorum: number;
}

/** Runs the command; returns the exit status. */
export async function approveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      deny: { type: "boolean", default: false },
      comment: { type: "string" },
      binding: { type: "string" },
      ...GATEWAY_OPTIONS,
    },
    allowPositionals: true,
    strict: true,
  });
  const { id, gateway, token } = await commandTarget(values, positionals, APPROVE_USAGE);
  const decision = values.deny ? "deny" : "approve";
  const body = {
    decision,
    ...(values.comment === undefined ? {} : { comment: values.comment }),
    ...(values.binding === undefined ? {} : { binding: values.binding }),
  };
  try {
    const { body: answer } = await callJson(`${gateway}/v1/approvals/${encodeURIComponent(id)}/decision`, {
      method: "POST",
      token,
      body,
    });
    const a = answer as DecisionAnswer;
    process.stdout.write(
      `${oneLine(`${decision} recorded: ${a.approvalId} is ${a.status} (${a.approvals} of ${a.quorum} approval(s)) · session ${a.sessionId}`)}\n`,
    );
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CliError && error.code === "expired") {
      throw new CliError(error.code, error.message, EXIT.expired, error.sessionId);
    }
    throw error;
  }
}
