// What the session services need, assembled once per host by its composition root.

import type { Logger } from "#shared/log.ts";
import type { LoadedPolicy } from "#shared/policy/load.ts";
import type { MatchContext } from "#shared/policy/match.ts";
import type { Clock, KeyProvider, ObjectStore, SessionStore, SqlExecutor } from "#shared/ports.ts";
import type { DecisionCache } from "#shared/query/decide-request.ts";
import type { CatalogRef } from "#shared/sql/catalog-snapshot.ts";
import type { Classification } from "#shared/sql/types.ts";

/** A statement after analysis. */
export interface AnalyzedStatement {
  readonly classification: Classification;
  /** The single statement's exact text (no trailing semicolon), what the executor runs. */
  readonly statement: string;
  /** The catalog snapshot the classification used (the production analyzer always says; evidence needs it). */
  readonly catalog?: CatalogRef;
}

/** Parses and classifies statements against the current catalog. */
export interface StatementAnalyzer {
  analyze(sql: string): Promise<AnalyzedStatement>;
}

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

/** Dependencies of the query and session services. */
export interface SessionDeps {
  readonly analyzer: StatementAnalyzer;
  readonly policy: PolicySource;
  readonly executor: SqlExecutor;
  readonly sessions: SessionStore;
  readonly objects: ObjectStore;
  readonly keys: KeyProvider;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly results: ResultLimits;
  /** Decisions of statements seen before (optional: without it every request is analyzed and decided afresh). */
  readonly decisions?: DecisionCache;
}
