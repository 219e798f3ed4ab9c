// Sessions a function left `running` when it was stopped (a Lambda timeout kills it mid-statement): failed closed by
// the keeper once they are older than any function that runs statements may live.

import type { SessionDeps } from "#shared/sessions/deps.ts";
import { transition } from "#shared/sessions/record.ts";

/** Default age after which a `running` session is orphaned: the longest statement-running function (600 s) and more. */
export const DEFAULT_ORPHAN_AFTER_SECONDS = 900;

/**
 * Where the orphan sweep finds its candidates (ids of sessions recorded `running` before a time, oldest first) and
 * after how long a running session is orphaned. A host whose store cannot list them has none (the local host fails
 * what its previous process left running when it starts).
 */
export interface OrphanSweep {
  readonly running: (before: Date) => Promise<readonly string[]>;
  readonly afterSeconds: number;
}

/** What the keeper's orphan sweep needs from its host. */
export interface OrphanDeps {
  readonly orphans?: OrphanSweep | undefined;
}

/**
 * Fails every session recorded `running` longer ago than `afterSeconds` and still running; answers how many. Each is
 * re-read first (a session that finished meanwhile is left as it is) and failed with one conditional update.
 */
export async function failOrphanedSessions(
  deps: Pick<SessionDeps, "sessions" | "clock" | "logger">,
  running: (before: Date) => Promise<readonly string[]>,
  afterSeconds: number = DEFAULT_ORPHAN_AFTER_SECONDS,
): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - afterSeconds * 1000);
  let failed = 0;
  for (const sessionId of await running(before)) {
    const record = await deps.sessions.get(sessionId);
    if (record?.status !== "running") continue;
    // The same failure the local host records for a statement its previous process left running.
    await deps.sessions.update(
      transition(record, "failed", deps.clock.now(), {
        error: {
          code: "interrupted",
          message: "the function running this statement stopped before it finished; nothing was returned",
          status: 503,
        },
      }),
    );
    failed++;
  }
  if (failed > 0) deps.logger.warn("orphaned running sessions failed", { sessions: failed });
  return failed;
}
