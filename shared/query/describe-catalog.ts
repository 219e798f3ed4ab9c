// What a caller may read (`GET /v1/catalog`, the MCP `describe` tool): the policy in force over the current catalog.

import type { Principal } from "#shared/identity/principal.ts";
import { type AccessDescription, describeAccess } from "#shared/policy/describe-access.ts";
import type { SessionDeps } from "#shared/sessions/deps.ts";

/**
 * The tables and columns `principal` may read, with each column's masking, under the policy in force and the
 * database's catalog as it is now. A caller the policy grants nothing gets an empty list: nothing it may not read is
 * named, not even whether it exists.
 */
export async function describeCatalog(
  deps: Pick<SessionDeps, "policy" | "analyzer">,
  principal: Principal,
): Promise<AccessDescription> {
  const catalog = await deps.analyzer.catalog();
  return describeAccess(deps.policy.current(), principal, catalog, deps.policy.context);
}
