// `phigate`: the command-line client — the client's commands plus those that need the repository (policy, seed, evidence).

import { CLIENT_COMMANDS } from "#cli/client-commands.ts";
import { EVIDENCE_USAGE, evidenceCommand } from "#cli/commands/evidence.ts";
import { POLICY_USAGE, policyCommand } from "#cli/commands/policy.ts";
import { SEED_USAGE, seedCommand } from "#cli/commands/seed.ts";
import { VERIFY_EVIDENCE_USAGE, verifyEvidenceCommand } from "#cli/commands/verify-evidence.ts";
import { VERIFY_SESSION_USAGE, verifySessionCommand } from "#cli/commands/verify-session.ts";
import { runCli } from "#cli/dispatch.ts";

runCli(
  {
    ...CLIENT_COMMANDS,
    policy: { run: policyCommand, usage: POLICY_USAGE },
    seed: { run: seedCommand, usage: SEED_USAGE },
    evidence: { run: evidenceCommand, usage: EVIDENCE_USAGE },
    "verify-evidence": { run: verifyEvidenceCommand, usage: VERIFY_EVIDENCE_USAGE },
    "verify-session": { run: verifySessionCommand, usage: VERIFY_SESSION_USAGE },
  },
  process.argv.slice(2),
);
