// The one place errors become HTTP responses in the contract's shape; nothing else reaches a caller.

import { PhigateError } from "#shared/errors.ts";
import { errorFields, type Logger } from "#shared/log.ts";
import { stringifyJson } from "#shared/serialized-json.ts";
import { messagePage } from "#shared/web/page.ts";

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
): Response {
  return new Response(stringifyJson(body), { status: statusCode, headers: { ...API_HEADERS, ...headers } });
}

/** What a caller may learn about an error: status, code, message, session. Logs what it must (never the message). */
function describe(
  error: unknown,
  logger: Logger,
): {
  status: number;
  code: string;
  message: string;
  sessionId?: string;
  details?: Readonly<Record<string, unknown>>;
} {
  if (error instanceof PhigateError) {
    if (error.status >= 500)
      logger.error("request failed", {
        code: error.code,
        sessionId: error.sessionId,
        ...errorFields(error.cause),
      });
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      ...(error.sessionId === undefined ? {} : { sessionId: error.sessionId }),
      ...(error.details === undefined ? {} : { details: error.details }),
    };
  }
  logger.error("unexpected error", errorFields(error));
  return { status: 500, code: "internal_error", message: "an internal error occurred" };
}

/**
 * `{"error": {"code", "message", "sessionId"?}}` with the error's status. Errors that are not a
 * `PhigateError` become `500 internal_error` with a generic message; details go to the log, never the caller.
 */
export function errorResponse(error: unknown, logger: Logger): Response {
  const { status, ...body } = describe(error, logger);
  const headers: Record<string, string> = {};
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="phigate"';
  const retryAfter = body.details?.retryAfterSeconds;
  if ((status === 429 || status === 503) && typeof retryAfter === "number")
    headers["retry-after"] = String(retryAfter);
  return jsonResponse(status, { error: body }, headers);
}

const PAGE_HEADINGS: Readonly<Record<number, string>> = {
  400: "That request was not understood",
  401: "Sign-in needed",
  403: "Not allowed",
  404: "Not found",
  409: "Already decided",
  410: "Expired",
  413: "Too large",
  415: "Not a form",
};

/** The same mapping for browser pages: an HTML page with the status, a heading, the message and the code. */
export function htmlErrorResponse(error: unknown, logger: Logger): Response {
  const { status, code, message } = describe(error, logger);
  const heading =
    PAGE_HEADINGS[status] ?? (status >= 500 ? "Temporarily unavailable" : "Something went wrong");
  return messagePage(status, heading, `${message} (${code})`);
}
