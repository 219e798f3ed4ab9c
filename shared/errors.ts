// The error hierarchy: every failure the core reports carries a stable code, an HTTP status and a caller-safe message.

/** Fields every phigate error carries besides its message. */
export interface PhigateErrorOptions {
  /** The underlying error, kept for logs; never shown to a caller. */
  readonly cause?: unknown;
  /** The session this failure was recorded in, when there is one. */
  readonly sessionId?: string;
  /** Structured, caller-safe details (no PHI, no SQL literals, no tokens). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The codes of a 400 (the request is malformed or breaks an input rule). */
export type BadRequestCode =
  | "invalid_request"
  | "invalid_json"
  | "invalid_params"
  | "invalid_range"
  | "invalid_sql"
  | "multiple_statements"
  | "unsupported_statement"
  | "invalid_idempotency_key"
  | "range_too_large"
  | "invalid_grant";

/** The codes of a 403 (the policy, a decision rule or the approver's page forbids it). */
export type ForbiddenCode =
  | "policy_denied"
  | "approval_denied"
  | "csrf_failed"
  | "not_an_approver"
  | "not_an_auditor"
  | "self_approval"
  | "approval_unavailable";

/** The codes of a 409 (the request conflicts with the current state). */
export type ConflictCode =
  | "version_conflict"
  | "already_decided"
  | "approval_exists"
  | "approval_not_granted"
  | "binding_mismatch"
  | "bundle_exists"
  | "execution_interrupted"
  | "idempotency_key_reused"
  | "object_exists"
  | "request_in_progress"
  | "session_missing"
  | "status_conflict"
  | "task_not_open"
  | "ehr_conflict"
  | "approval_binding_mismatch"
  | "approval_params_mismatch"
  | "policy_changed"
  | "classification_changed"
  | "decision_changed"
  | "masking_changed";

/** The codes of a 410 (it existed but has expired). */
export type GoneCode = "expired" | "approval_expired";

/** The codes of a 422 (an allowed statement PostgreSQL could not complete). */
export type QueryFailedCode =
  | "query_failed"
  | "execution_failed"
  | "row_too_large"
  | "page_too_large"
  | "value_too_deep"
  | "value_not_representable"
  | "statement_timeout"
  | "read_only_violation"
  | "undefined_table"
  | "undefined_column"
  | "undefined_function"
  | "insufficient_privilege"
  | "syntax_error"
  | "division_by_zero"
  | "program_limit_exceeded";

/** The codes of a 503 (a store, the database or a service is unavailable). */
export type UnavailableCode =
  | "store_unavailable"
  | "database_unavailable"
  | "workflow_unavailable"
  | "signer_unavailable"
  | "signin_unavailable"
  | "interrupted"
  | "starting"
  | "stopping";

/**
 * Base class of every error the core raises on purpose. `message` must be safe to show the caller:
 * no PHI, no SQL literal, no token, no stack.
 */
export abstract class PhigateError extends Error {
  /** snake_case code from the contract (e.g. `policy_denied`). */
  abstract readonly code: string;
  /** HTTP status the error maps to. */
  abstract readonly status: number;
  /** Set once the failure is recorded in a session (the mapper adds it to the response). */
  sessionId: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(message: string, options: PhigateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.sessionId = options.sessionId;
    this.details = options.details;
  }
}

/** 400: the request is malformed or violates the API's input rules. */
export class BadRequestError extends PhigateError {
  override readonly name = "BadRequestError";
  readonly status = 400;
  constructor(
    readonly code: BadRequestCode,
    message: string,
    options?: PhigateErrorOptions,
  ) {
    super(message, options);
  }
}

/** 401: no token, or a token that does not verify. */
export class AuthenticationError extends PhigateError {
  override readonly name = "AuthenticationError";
  readonly status = 401;
  readonly code = "unauthorized";
}

/** 403: the policy (or a decision rule) forbids this. */
export class ForbiddenError extends PhigateError {
  override readonly name = "ForbiddenError";
  readonly status = 403;
  constructor(
    readonly code: ForbiddenCode,
    message: string,
    options?: PhigateErrorOptions,
  ) {
    super(message, options);
  }
}

/** 404: unknown, or not visible to this caller (the two are indistinguishable on purpose). */
export class NotFoundError extends PhigateError {
  override readonly name = "NotFoundError";
  readonly status = 404;
  readonly code = "not_found";
}

/** 405: the path exists but not with this method. */
export class MethodNotAllowedError extends PhigateError {
  override readonly name = "MethodNotAllowedError";
  readonly status = 405;
  readonly code = "method_not_allowed";
}

/** 409: the request conflicts with the current state. */
export class ConflictError extends PhigateError {
  override readonly name: string = "ConflictError";
  readonly status = 409;
  constructor(
    readonly code: ConflictCode,
    message: string,
    options?: PhigateErrorOptions,
  ) {
    super(message, options);
  }
}

/** 409 `version_conflict`: a store refused a write because the stored version moved on (retry from a fresh read). */
export class VersionConflictError extends ConflictError {
  override readonly name = "VersionConflictError";
  constructor(message: string, options?: PhigateErrorOptions) {
    super("version_conflict", message, options);
  }
}

/** Whether an error is a lost optimistic-concurrency race (a store's {@link VersionConflictError}). */
export function isVersionConflict(error: unknown): error is VersionConflictError {
  return error instanceof VersionConflictError;
}

/** 410: the thing asked for existed but has expired. */
export class GoneError extends PhigateError {
  override readonly name = "GoneError";
  readonly status = 410;
  constructor(
    readonly code: GoneCode,
    message: string,
    options?: PhigateErrorOptions,
  ) {
    super(message, options);
  }
}

/** 413: the request body (or a part of it) is larger than allowed. */
export class PayloadTooLargeError extends PhigateError {
  override readonly name = "PayloadTooLargeError";
  readonly status = 413;
  readonly code = "payload_too_large";
}

/** 415: the body is not JSON. */
export class UnsupportedMediaTypeError extends PhigateError {
  override readonly name = "UnsupportedMediaTypeError";
  readonly status = 415;
  readonly code = "unsupported_media_type";
}

/** 422: the statement was allowed but PostgreSQL could not complete it (SQLSTATE only, never its message). */
export class QueryFailedError extends PhigateError {
  override readonly name = "QueryFailedError";
  readonly status = 422;
  constructor(
    readonly code: QueryFailedCode,
    message: string,
    options?: PhigateErrorOptions,
  ) {
    super(message, options);
  }
}

/** 429: too many requests for this principal. */
export class RateLimitedError extends PhigateError {
  override readonly name = "RateLimitedError";
  readonly status = 429;
  readonly code = "rate_limited";
}

/**
 * 429: another statement let through on the same admission key's window holds its turn longer than this request
 * may wait (`retryAfterSeconds`: when the turn's lease runs out at the latest).
 */
export class TurnBusyError extends PhigateError {
  override readonly name = "TurnBusyError";
  readonly status = 429;
  readonly code = "rate_limited";
  constructor(retryAfterSeconds: number) {
    super("another statement of this caller's policy principal is running; retry when it has finished", {
      details: { retryAfterSeconds },
    });
  }
}

/** 500: masking could not be done; nothing is returned. */
export class MaskingFailedError extends PhigateError {
  override readonly name = "MaskingFailedError";
  readonly status = 500;
  readonly code = "masking_failed";
}

/** 503: a store or the database is unavailable; nothing is returned. */
export class UnavailableError extends PhigateError {
  override readonly name = "UnavailableError";
  readonly status = 503;
  constructor(
    readonly code: UnavailableCode,
    message: string,
    options?: PhigateErrorOptions,
  ) {
    super(message, options);
  }
}

/** 500: stored evidence (a journal entry, a stored result, an archived policy) does not match its digest. */
export class IntegrityError extends PhigateError {
  override readonly name = "IntegrityError";
  readonly status = 500;
  readonly code = "integrity_error";
}

/** A configuration that cannot be used (bad policy file, bad environment). Fatal at start-up. */
export class ConfigurationError extends PhigateError {
  override readonly name = "ConfigurationError";
  readonly status = 500;
  readonly code = "configuration_error";
}

/** 500: an unexpected failure; the caller learns nothing but the session id. */
export class InternalError extends PhigateError {
  override readonly name = "InternalError";
  readonly status = 500;
  readonly code = "internal_error";
}

/** The error as a PhigateError (unknown errors become `InternalError`), tagged with the session it was recorded in. */
export function inSession(error: unknown, sessionId: string): PhigateError {
  const known =
    error instanceof PhigateError ? error : new InternalError("an internal error occurred", { cause: error });
  known.sessionId ??= sessionId;
  return known;
}
