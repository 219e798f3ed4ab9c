// What the query use case needs: the approval services' dependencies plus the decision cache.

import type { ApprovalDeps } from "#shared/approval/deps.ts";
import type { DecisionCache } from "#shared/query/decide-request.ts";

/** Dependencies of submitting a query and of running an approved one. */
export interface QueryDeps extends ApprovalDeps {
  /** Decisions of statements seen before (optional: without it every request is analyzed and decided afresh). */
  readonly decisions?: DecisionCache;
}
