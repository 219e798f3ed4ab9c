// Records a failure on a session, best effort: the caller's error is reported either way.

import { inSession } from "#shared/errors.ts";
import { errorFields } from "#shared/log.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";
import { type SessionRecord, transition } from "#shared/sessions/record.ts";

/** Records a failure on a session (best effort: the caller's error is reported either way). */
export async function failSession(
  deps: SessionDeps,
  record: SessionRecord,
  error: unknown,
  startedAt?: Date,
): Promise<void> {
  const known = inSession(error, record.sessionId);
  const at = deps.clock.now();
  const failed = transition(record, "failed", at, {
    error: { code: known.code, message: known.message, status: known.status },
    execution:
      startedAt === undefined
        ? record.execution
        : {
            startedAt: startedAt.toISOString(),
            finishedAt: at.toISOString(),
            durationMs: null,
            rowCount: null,
            truncated: null,
          },
  });
  try {
    await deps.sessions.update(failed);
  } catch (updateError) {
    deps.logger.error("could not record a session failure", {
      sessionId: record.sessionId,
      ...errorFields(updateError),
    });
  }
}
