// The CLI's one way to talk HTTP: timeouts on connect, headers and idle body, and a cap on every answer's size.

import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { CliError, EXIT } from "#cli/cli-error.ts";

/** How long the CLI waits and how much it reads (each configurable through the environment). */
export interface HttpLimits {
  /** Until the TCP (and TLS) connection is up. `PHIGATE_CONNECT_TIMEOUT_MS`, default 10 s. */
  readonly connectTimeoutMs: number;
  /** From connecting until the answer's headers (a long poll adds its wait). `PHIGATE_HEADERS_TIMEOUT_MS`, default 30 s. */
  readonly headersTimeoutMs: number;
  /** Longest silence while a body arrives. `PHIGATE_IDLE_TIMEOUT_MS`, default 30 s. */
  readonly idleTimeoutMs: number;
  /** Largest JSON or text answer read into memory. `PHIGATE_MAX_RESPONSE_BYTES`, default 64 MiB. */
  readonly maxResponseBytes: number;
  /** Largest downloaded result (`resultUrl`), compressed. `PHIGATE_MAX_RESULT_BYTES`, default 4 GiB. */
  readonly maxResultBytes: number;
}

/** The defaults of {@link HttpLimits}. */
export const DEFAULT_LIMITS: HttpLimits = {
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  maxResponseBytes: 64 * 1024 * 1024,
  maxResultBytes: 4 * 1024 * 1024 * 1024,
};

const ENV_NAMES: Readonly<Record<keyof HttpLimits, string>> = {
  connectTimeoutMs: "PHIGATE_CONNECT_TIMEOUT_MS",
  headersTimeoutMs: "PHIGATE_HEADERS_TIMEOUT_MS",
  idleTimeoutMs: "PHIGATE_IDLE_TIMEOUT_MS",
  maxResponseBytes: "PHIGATE_MAX_RESPONSE_BYTES",
  maxResultBytes: "PHIGATE_MAX_RESULT_BYTES",
};

/** The limits from the environment (a malformed value is a usage error naming the variable). */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): HttpLimits {
  const limits: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const text = env[name];
    if (text === undefined || text === "") continue;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new CliError("usage", `${name} must be a positive whole number`, EXIT.usage);
    }
    limits[key] = value;
  }
  return limits as unknown as HttpLimits;
}

/** An answer whose body has not been read yet. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body in chunks: each wait is bounded by the idle timeout, the total by `maxBytes`. */
  readonly body: AsyncIterable<Buffer>;
  /** Drops the rest of the body and the connection. */
  cancel(): void;
}

/** What to send. */
export interface HttpRequest {
  readonly method: "GET" | "POST";
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** The most bytes the body may have (default: `limits.maxResponseBytes`). */
  readonly maxBytes?: number;
  /** Extra time before the headers are due (a long poll's wait). */
  readonly extraHeadersMs?: number;
  /** What the answer is, for messages (`the gateway`, `the result link`). */
  readonly what?: string;
}

function timeoutError(message: string): CliError {
  return new CliError("timeout", message, EXIT.error);
}

async function* boundedBody(
  response: IncomingMessage,
  limits: HttpLimits,
  maxBytes: number,
  what: string,
): AsyncGenerator<Buffer> {
  const chunks = response[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let total = 0;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const silence = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          response.destroy();
          reject(
            timeoutError(`${what} sent nothing for ${limits.idleTimeoutMs} ms in the middle of its answer`),
          );
        }, limits.idleTimeoutMs);
      });
      let next: IteratorResult<Buffer>;
      try {
        next = await Promise.race([chunks.next(), silence]);
      } finally {
        clearTimeout(timer);
      }
      if (next.done === true) return;
      total += next.value.length;
      if (total > maxBytes) {
        throw new CliError(
          "response_too_large",
          `${what} sent more than ${maxBytes} bytes (raise the limit with PHIGATE_MAX_RESPONSE_BYTES or PHIGATE_MAX_RESULT_BYTES)`,
          EXIT.error,
        );
      }
      yield next.value;
    }
  } finally {
    if (!response.complete) response.destroy();
  }
}

/**
 * Sends one request: refused unless `http:` or `https:`, failed with `timeout` when the connection is not up within
 * `connectTimeoutMs`, the headers do not arrive within `headersTimeoutMs` (+ `extraHeadersMs`) of it, or the body
 * stalls for `idleTimeoutMs`; the body is cut with `response_too_large` beyond its cap. Nothing is retried here.
 */
export function send(
  url: string,
  init: HttpRequest,
  limits: HttpLimits = limitsFromEnv(),
): Promise<HttpAnswer> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.reject(new CliError("usage", "the URL is not valid", EXIT.usage));
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    return Promise.reject(
      new CliError("usage", `only http and https URLs are used, not ${target.protocol}`, EXIT.usage),
    );
  }
  const what = init.what ?? target.origin;
  const maxBytes = init.maxBytes ?? limits.maxResponseBytes;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const make = target.protocol === "https:" ? httpsRequest : httpRequest;
    const request = make(target, { method: init.method, headers: init.headers ?? {} });
    let timer: NodeJS.Timeout | undefined = setTimeout(() => {
      request.destroy(
        timeoutError(`${what} did not accept a connection within ${limits.connectTimeoutMs} ms`),
      );
    }, limits.connectTimeoutMs);
    const awaitHeaders = (): void => {
      clearTimeout(timer);
      const ms = limits.headersTimeoutMs + (init.extraHeadersMs ?? 0);
      timer = setTimeout(() => {
        request.destroy(timeoutError(`${what} did not answer within ${ms} ms`));
      }, ms);
    };
    request.once("socket", (socket) => {
      if (!socket.connecting) awaitHeaders();
      else socket.once(target.protocol === "https:" ? "secureConnect" : "connect", awaitHeaders);
    });
    request.once("response", (response) => {
      clearTimeout(timer);
      timer = undefined;
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: boundedBody(response, limits, maxBytes, what),
        cancel: () => response.destroy(),
      });
    });
    request.once("error", (error) => {
      clearTimeout(timer);
      reject(
        error instanceof CliError
          ? error
          : new CliError("unreachable", `cannot reach ${target.origin} (${error.message})`, EXIT.error),
      );
    });
    request.end(init.body);
  });
}

/** Reads a whole (capped) body. */
export async function readAll(answer: HttpAnswer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of answer.body) chunks.push(chunk);
  return Buffer.concat(chunks);
}
