// Policy limits the AWS host could not honour, refused at synth: a statement runs inside the 29 s query route.

import { RESERVE_MS } from "#infra/aws/adapters/rds-data-budget.ts";
import type { FunctionDefinition } from "#infra/aws/functions.ts";
import { ConfigurationError } from "#shared/errors.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";

/**
 * The longest statement timeout a policy may ask for on AWS: the query route's timeout less what it keeps back for
 * recording the session and answering. (Approved statements run in a longer task, but the Data API ends every call
 * at 45 s, so the route is the tighter bound and the one both paths must fit.)
 */
export function maxStatementTimeoutMs(functions: readonly FunctionDefinition[]): number {
  const route = functions.find((f) => f.id === "post-query");
  if (route === undefined) throw new ConfigurationError("no post-query function is defined");
  return route.timeoutSeconds * 1000 - RESERVE_MS;
}

/** Throws when the policy's default or any principal's `statementTimeoutMs` cannot fit the query route. */
export function assertPolicyFitsRoutes(policy: LoadedPolicy, functions: readonly FunctionDefinition[]): void {
  const max = maxStatementTimeoutMs(functions);
  const asked: [string, number | undefined][] = [
    ["defaults", policy.document.defaults.statementTimeoutMs],
    ...policy.document.principals.map((p): [string, number | undefined] => [
      `principal ${p.id}`,
      p.limits.statementTimeoutMs,
    ]),
  ];
  const over = asked.filter(([, ms]) => ms !== undefined && ms > max);
  if (over.length > 0) {
    throw new ConfigurationError(
      `${policy.source}: statementTimeoutMs over ${max} ms cannot run on AWS (the query route has 29 s and keeps ` +
        `${RESERVE_MS} ms to record and answer): ${over.map(([where, ms]) => `${where} asks ${ms}`).join(", ")}`,
    );
  }
}
