// The CLI's HTTP client: JSON in and out, errors in the contract's shape turned into CliError.

import type { IncomingHttpHeaders } from "node:http";
import { CliError, EXIT } from "#cli/cli-error.ts";
import { type RetryPolicy, sendWithRetry } from "#cli/retry.ts";
import { oneLine } from "#cli/safe-text.ts";

/** The gateway's base URL (`--url`, `PHIGATE_URL`, or the local default). */
export function gatewayUrl(flag: string | undefined): string {
  return (flag ?? process.env.PHIGATE_URL ?? `http://127.0.0.1:${process.env.PORT ?? "8787"}`).replace(
    /\/+$/,
    "",
  );
}

/** Turns a contract error body (`{"error": {...}}`) into a CliError. */
function contractError(status: number, text: string): CliError {
  let error: { code?: unknown; message?: unknown; sessionId?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error } | null)?.error;
  } catch {
    error = undefined;
  }
  const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
  const exit = status === 403 ? EXIT.denied : EXIT.error;
  const sessionId = str(error?.sessionId);
  return new CliError(
    oneLine(str(error?.code) ?? `http_${status}`),
    oneLine(str(error?.message) ?? `HTTP ${status}`),
    exit,
    sessionId === undefined ? undefined : oneLine(sessionId),
  );
}

/**
 * Sends a request and returns status and parsed JSON body; contract errors become CliError. The answer is bounded
 * in time and size (`#cli/http.ts`); `extraHeadersMs` is a long poll's wait.
 */
export async function callJson(
  url: string,
  init: {
    method: "GET" | "POST";
    token?: string;
    body?: unknown;
    headers?: Record<string, string>;
    extraHeadersMs?: number;
    retry?: RetryPolicy;
  },
): Promise<{ status: number; body: unknown; headers: IncomingHttpHeaders }> {
  const { readAll, send } = await import("#cli/http.ts");
  const headers: Record<string, string> = { accept: "application/json", ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const answer = await sendWithRetry(
    () =>
      send(url, {
        method: init.method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        ...(init.extraHeadersMs === undefined ? {} : { extraHeadersMs: init.extraHeadersMs }),
        what: "the gateway",
      }),
    init.retry,
  );
  const text = (await readAll(answer)).toString("utf8");
  if (answer.status >= 400) throw contractError(answer.status, text);
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    throw new CliError(
      "bad_response",
      `the gateway answered ${answer.status} with a body that is not JSON`,
      EXIT.error,
    );
  }
  return { status: answer.status, body, headers: answer.headers };
}

/** GETs a text resource (an HTML page); contract errors become CliError like `callJson`'s. */
export async function callText(url: string, init: { token: string; accept: string }): Promise<string> {
  const { readAll, send } = await import("#cli/http.ts");
  const answer = await sendWithRetry(() =>
    send(url, {
      method: "GET",
      headers: { accept: init.accept, authorization: `Bearer ${init.token}` },
      what: "the gateway",
    }),
  );
  const text = (await readAll(answer)).toString("utf8");
  if (answer.status >= 400) throw contractError(answer.status, text);
  return text;
}
