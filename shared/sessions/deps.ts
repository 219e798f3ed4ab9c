// What the session services need, assembled once per host by its composition root.

import type { Logger } from "#shared/log.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { MatchContext } from "#shared/policy/match.ts";
import type {
  Clock,
  KeyProvider,
  ObjectStore,
  ReadLedger,
  SessionStore,
  SqlExecutor,
  StatementAnalyzer,
} from "#shared/ports.ts";

/** The policy in force and how its issuer aliases resolve. */
export interface PolicySource {
  current(): LoadedPolicy;
  readonly context: MatchContext;
}

/** Result delivery limits. */
export interface ResultLimits {
  /** Rows per page read from the database. */
  readonly pageSize: number;
  /** Largest result returned inline in a response body (bytes of serialized rows). */
  readonly inlineMaxBytes: number;
}

/** Dependencies of the session services. */
export interface SessionDeps {
  readonly analyzer: StatementAnalyzer;
  readonly policy: PolicySource;
  readonly executor: SqlExecutor;
  readonly sessions: SessionStore;
  /** The PHI rows each caller took per table (the risk rules' window); a completed session adds its rows. */
  readonly reads: ReadLedger;
  readonly objects: ObjectStore;
  readonly keys: KeyProvider;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly results: ResultLimits;
}
