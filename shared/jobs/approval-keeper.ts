// Job `approval-keeper`: the token holder's sweep every minute (heartbeats, lost decisions re-sent, expired waits
// failed) and the sessions a timed-out function left running failed closed.

import { sweepApprovals } from "#shared/approval/keeper.ts";
import { defineJob } from "#shared/jobs/job.ts";
import { failOrphanedSessions } from "#shared/sessions/orphans.ts";

/**
 * The keeper runs every minute (a wait's heartbeat interval is at most 300 s, so it is beaten well within it; a
 * missed run is simply the next one). Where its host lists running sessions (AWS's sparse index) it also fails the
 * ones older than any statement-running function may live, with their chain records.
 */
export const job = defineJob({
  id: "approval-keeper",
  needsParser: false,
  capabilities: { approvals: "list", workflow: "signal", sessions: "write", sweepsSessions: true },
  schedule: { kind: "every", minutes: 1 },
  description: "phigate: approval keeper (heartbeats, lost decisions, expired waits, orphaned sessions)",
  retries: { attempts: 0, maxEventAgeSeconds: 60 },
  onFailure:
    "The keeper is invoked every minute and keeps no state of its own (it reads the approvals table each run); a " +
    "failed run is superseded by the next one a minute later, so there is nothing to park in a queue.",
  run: async (deps) => {
    const swept = await sweepApprovals(deps);
    const orphans =
      deps.orphans === undefined
        ? 0
        : await failOrphanedSessions(deps, deps.orphans.running, deps.orphans.afterSeconds);
    return {
      result: { ...swept, orphans },
      counts: [
        ["Heartbeats", swept.heartbeats],
        ["DecisionsResent", swept.resent],
        ["OrphanedSessions", orphans],
      ],
    };
  },
});
