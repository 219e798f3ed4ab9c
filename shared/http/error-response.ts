// The one place errors become HTTP responses in the contract's shape; nothing else reaches a caller.

import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { PhigateError } from "#shared/errors.ts";
import { errorFields, type Logger } from "#shared/log.ts";

/** Headers every API response carries. */
export const API_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/** A JSON response. */
export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { ...API_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/**
 * `{"error": {"code", "message", "sessionId"?}}` with the error's status. Errors that are not a
 * `PhigateError` become `500 internal_error` with a generic message; details go to the log, never the caller.
 */
export function errorResponse(error: unknown, logger: Logger): APIGatewayProxyStructuredResultV2 {
  if (error instanceof PhigateError) {
    if (error.status >= 500)
      logger.error("request failed", {
        code: error.code,
        sessionId: error.sessionId,
        ...errorFields(error.cause),
      });
    const body = {
      error: {
        code: error.code,
        message: error.message,
        ...(error.sessionId === undefined ? {} : { sessionId: error.sessionId }),
        ...(error.details === undefined ? {} : { details: error.details }),
      },
    };
    const headers: Record<string, string> = {};
    if (error.status === 401) headers["www-authenticate"] = 'Bearer realm="phigate"';
    const retryAfter = error.details?.retryAfterSeconds;
    if (error.status === 429 && typeof retryAfter === "number") headers["retry-after"] = String(retryAfter);
    return jsonResponse(error.status, body, headers);
  }
  logger.error("unexpected error", errorFields(error));
  return jsonResponse(500, { error: { code: "internal_error", message: "an internal error occurred" } });
}
