// Maps RDS Data API failures to phigate errors by exception class and SQLSTATE, never passing a message on.

import { PhigateError, QueryFailedError, UnavailableError } from "#shared/errors.ts";
import { queryFailure } from "#shared/sql/sqlstate.ts";

/** Aurora PostgreSQL database errors end with `; SQLState: 42P01` (the only part of the message read). */
const SQLSTATE_SUFFIX = /SQLState: ([0-9A-Z]{5})\s*$/;

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : "";
}

/** The SQLSTATE a Data API error carries, if any. */
export function sqlstateOf(error: unknown): string | null {
  return SQLSTATE_SUFFIX.exec(messageOf(error))?.[1] ?? null;
}

/** Whether the Data API refused a response for exceeding its 1 MiB limit (the page must shrink). */
export function isResponseTooLarge(error: unknown): boolean {
  // The documented messages: "Database response exceeded size limit" (1 MiB) and "Packet for query is too large" (a
  // row over 64 KB); older wording: "…more than the allowed response size limit".
  return (
    nameOf(error) === "BadRequestException" &&
    /response size|too large|exceeded size limit/i.test(messageOf(error))
  );
}

/**
 * The caller-safe error for a Data API failure: a SQLSTATE-named 422 for database errors, a generic 422 for a
 * statement the Data API refused, and 503 for everything else (paused or unreachable cluster, secret or IAM
 * problems, throttling, a lost transaction).
 */
export function dataApiFailure(error: unknown): PhigateError {
  if (error instanceof PhigateError) return error;
  const name = nameOf(error);
  if (name === "AbortError" || name === "StatementTimeoutException") return queryFailure("57014");
  const sqlstate = sqlstateOf(error);
  if (sqlstate !== null) return queryFailure(sqlstate);
  if (name === "UnsupportedResultException") {
    return new QueryFailedError(
      "query_failed",
      "a result column has a type the Data API cannot return; cast it to text",
    );
  }
  if (name === "DatabaseErrorException" || name === "BadRequestException") {
    return new QueryFailedError("query_failed", "the database could not run the statement");
  }
  return new UnavailableError("database_unavailable", "the database is unavailable", { cause: error });
}
