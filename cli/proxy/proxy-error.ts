// An error the proxy sends as an ErrorResponse: a SQLSTATE, the gateway's code and message, the session it concerns.

import type { Failure } from "#shared/gateway-client/outcomes.ts";

/** SQLSTATEs of the gateway's error codes (docs/front-doors.md lists them). */
const BY_CODE: Readonly<Record<string, string>> = {
  unauthorized: "28000",
  no_token: "28000",
  token_request_failed: "28000",
  policy_denied: "42501",
  approval_denied: "42501",
  insufficient_privilege: "42501",
  approval_expired: "57014",
  statement_timeout: "57014",
  invalid_sql: "42601",
  syntax_error: "42601",
  multiple_statements: "42601",
  too_complex: "54001",
  invalid_params: "22023",
  invalid_request: "22023",
  read_only_violation: "25006",
  undefined_table: "42P01",
  undefined_column: "42703",
  undefined_function: "42883",
  division_by_zero: "22012",
  program_limit_exceeded: "54000",
  payload_too_large: "54000",
  rate_limited: "53000",
  not_found: "42704",
  unknown_session: "42704",
  integrity_error: "XX001",
  digest_mismatch: "XX001",
  bad_result: "XX001",
  bad_response: "XX000",
  download_failed: "58030",
  unreachable: "08006",
  database_unavailable: "57P03",
};

/** SQLSTATEs by HTTP status, for codes the table does not name. */
const BY_STATUS: Readonly<Record<number, string>> = {
  400: "22023",
  401: "28000",
  403: "42501",
  404: "42704",
  409: "40001",
  410: "57014",
  413: "54000",
  422: "XX000",
  429: "53000",
  503: "57P03",
};

/** The SQLSTATE for a gateway failure: by its code, then a `(SQLSTATE xxxxx)` it names, then its HTTP status. */
export function sqlstateOf(failure: Pick<Failure, "code" | "message" | "status">): string {
  const named = BY_CODE[failure.code];
  if (named !== undefined) return named;
  const quoted = /\(SQLSTATE ([0-9A-Z]{5})\)/.exec(failure.message)?.[1];
  if (quoted !== undefined) return quoted;
  return BY_STATUS[failure.status] ?? (failure.status >= 500 ? "XX000" : "22023");
}

/** An ErrorResponse to send (severity ERROR: the connection stays usable). */
export class ProxyError extends Error {
  override readonly name = "ProxyError";
  constructor(
    readonly sqlstate: string,
    message: string,
    readonly detail?: string,
    readonly hint?: string,
  ) {
    super(message);
  }

  /** The error for a gateway failure: `code: message`, the session id as detail. */
  static fromFailure(failure: Failure): ProxyError {
    return new ProxyError(
      sqlstateOf(failure),
      `${failure.code}: ${failure.message}`,
      failure.sessionId === undefined ? undefined : `phigate session ${failure.sessionId}`,
    );
  }

  /** A statement the proxy does not run because it could not do so honestly. */
  static unsupported(message: string, hint?: string): ProxyError {
    return new ProxyError("0A000", `phigate proxy: ${message}`, undefined, hint);
  }
}
