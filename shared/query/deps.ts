// What the query use case needs: the approval services' dependencies plus the decision cache and callers' turns.

import type { ApprovalDeps } from "#shared/approval/deps.ts";
import type { CallerTurns } from "#shared/ports.ts";
import type { DecisionCache } from "#shared/query/decide-request.ts";

/** Dependencies of submitting a query and of running an approved one. */
export interface QueryDeps extends ApprovalDeps {
  /** Decisions of statements seen before (optional: without it every request is analyzed and decided afresh). */
  readonly decisions?: DecisionCache;
  /** Callers' turns: a caller's windowed statements are admitted one at a time (across the host's processes). */
  readonly turns: CallerTurns;
}
