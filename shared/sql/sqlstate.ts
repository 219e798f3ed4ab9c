// Maps PostgreSQL SQLSTATEs to phigate errors without ever passing on PostgreSQL's message (it can echo data).

import {
  type PhigateError,
  type QueryFailedCode,
  QueryFailedError,
  UnavailableError,
} from "#shared/errors.ts";

const NAMED: Readonly<Record<string, { code: QueryFailedCode; message: string }>> = {
  "25006": {
    code: "read_only_violation",
    message: "the statement tried to write; phigate runs statements read-only",
  },
  "57014": { code: "statement_timeout", message: "the statement ran longer than its time limit" },
  "42P01": { code: "undefined_table", message: "the statement names a relation that does not exist" },
  "42703": { code: "undefined_column", message: "the statement names a column that does not exist" },
  "42883": { code: "undefined_function", message: "the statement calls a function that does not exist" },
  "42501": {
    code: "insufficient_privilege",
    message: "the database refused the statement for lack of privilege",
  },
  "42601": { code: "syntax_error", message: "the database could not run the statement as written" },
  "22012": { code: "division_by_zero", message: "the statement divided by zero" },
  "54000": { code: "program_limit_exceeded", message: "the statement exceeded a database limit" },
};

/**
 * The error for a failed statement, from its SQLSTATE alone. Connection-class (08), resource (53) and
 * operator-intervention (57P) states mean the database is unavailable (503); everything else is a 422 that
 * names the SQLSTATE so the caller can look it up.
 */
export function queryFailure(sqlstate: string | null): PhigateError {
  if (
    sqlstate === null ||
    sqlstate.startsWith("08") ||
    sqlstate.startsWith("53") ||
    sqlstate.startsWith("57P")
  ) {
    return new UnavailableError("database_unavailable", "the database is unavailable");
  }
  const named = NAMED[sqlstate];
  if (named !== undefined)
    return new QueryFailedError(named.code, `${named.message} (SQLSTATE ${sqlstate})`, {
      details: { sqlstate },
    });
  return new QueryFailedError("query_failed", `the statement failed (SQLSTATE ${sqlstate})`, {
    details: { sqlstate },
  });
}
