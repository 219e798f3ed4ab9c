// The CLI's HTTP client: JSON in and out, errors in the contract's shape turned into CliError.

import { fetchWithRetry, type RetryPolicy } from "./retry.ts";

/** A failure the CLI reports as `code: message` on stderr with a non-zero exit status. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number,
    readonly sessionId?: string,
  ) {
    super(message);
  }
}

/** Exit statuses: 0 success, 2 usage, 3 denied by policy or approver, 4 any other error, 5 approval expired. */
export const EXIT = { ok: 0, usage: 2, denied: 3, error: 4, expired: 5 } as const;

/** The gateway's base URL (`--url`, `PHIGATE_URL`, or the local default). */
export function gatewayUrl(flag: string | undefined): string {
  return (flag ?? process.env.PHIGATE_URL ?? `http://127.0.0.1:${process.env.PORT ?? "8787"}`).replace(
    /\/+$/,
    "",
  );
}

/** Sends a request and returns status and parsed JSON body; contract errors become CliError. */
export async function callJson(
  url: string,
  init: {
    method: "GET" | "POST";
    token?: string;
    body?: unknown;
    headers?: Record<string, string>;
    retry?: RetryPolicy;
  },
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { accept: "application/json", ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetchWithRetry(
      url,
      {
        method: init.method,
        headers,
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      },
      init.retry,
    );
  } catch (error) {
    throw new CliError(
      "unreachable",
      `cannot reach ${new URL(url).origin} (${(error as Error).message})`,
      EXIT.error,
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    throw new CliError(
      "bad_response",
      `the gateway answered ${response.status} with a body that is not JSON`,
      EXIT.error,
    );
  }
  if (response.status >= 400) {
    const error = (body as { error?: { code?: string; message?: string; sessionId?: string } } | undefined)
      ?.error;
    const code = error?.code ?? `http_${response.status}`;
    const exit = response.status === 403 ? EXIT.denied : EXIT.error;
    throw new CliError(code, error?.message ?? `HTTP ${response.status}`, exit, error?.sessionId);
  }
  return { status: response.status, body };
}

/** GETs a text resource (an HTML page); contract errors become CliError like `callJson`'s. */
export async function callText(url: string, init: { token: string; accept: string }): Promise<string> {
  let response: Response;
  try {
    response = await fetchWithRetry(url, {
      headers: { accept: init.accept, authorization: `Bearer ${init.token}` },
    });
  } catch (error) {
    throw new CliError(
      "unreachable",
      `cannot reach ${new URL(url).origin} (${(error as Error).message})`,
      EXIT.error,
    );
  }
  const text = await response.text();
  if (response.status >= 400) {
    let error: { code?: string; message?: string; sessionId?: string } | undefined;
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error;
    } catch {
      error = undefined;
    }
    const exit = response.status === 403 ? EXIT.denied : EXIT.error;
    throw new CliError(
      error?.code ?? `http_${response.status}`,
      error?.message ?? `HTTP ${response.status}`,
      exit,
      error?.sessionId,
    );
  }
  return text;
}
