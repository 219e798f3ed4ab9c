// The local host's HTTP server: hands the shared route table's handlers a web Request each, plus local-only routes.

import { createReadStream } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { finished } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { FileObjectStore } from "#infra/local/adapters/file-object-store.ts";
import {
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnavailableError,
} from "#shared/errors.ts";
import type { ApiHandler } from "#shared/http/api-handler.ts";
import { errorResponse, jsonResponse } from "#shared/http/error-response.ts";
import { MAX_BODY_BYTES } from "#shared/http/request.ts";
import type { RouteTable } from "#shared/http/route-table.ts";
import { errorFields, type Logger } from "#shared/log.ts";

/** A route only the local host serves (the dev IdP): returns undefined when it doesn't match. */
export type LocalRoute = (request: Request) => Promise<Response | undefined>;

/** A local route mounted under a path: only requests at `prefix` or below it are handed to it. */
export interface MountedLocalRoute {
  readonly prefix: string;
  readonly route: LocalRoute;
}

/** Where the server listens. */
export interface LocalServerOptions {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** How long `close` lets requests in flight finish before it cuts them (default {@link DRAIN_MS}). */
  readonly drainMs?: number;
}

/**
 * How long a stop waits for requests in flight. A query is answered within its statement timeout; a session
 * long-poll (at most 20 s) that is cut loses nothing, its caller asks again.
 */
export const DRAIN_MS = 10_000;

/** What the server serves, mounted once the composition root (which needs the server's URL) is built. */
export interface MountedApp {
  /** The route table and the handler of each of its routes, by route id. */
  readonly routes: RouteTable;
  readonly handlers: ReadonlyMap<string, ApiHandler>;
  readonly localRoutes: readonly MountedLocalRoute[];
  readonly objects: FileObjectStore;
}

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  mount(app: MountedApp): void;
  /**
   * Stops accepting, answers `503 stopping` to requests that still arrive on open connections, lets the requests
   * in flight finish (up to `drainMs`), then closes every connection. The stores must stay open until it resolves:
   * a request cut short is recorded `running`, and only the next start marks it failed.
   */
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new PayloadTooLargeError(`the request body is larger than ${MAX_BODY_BYTES} bytes`));
        request.pause();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

async function serveObject(objects: FileObjectStore, url: URL, response: ServerResponse): Promise<boolean> {
  if (!url.pathname.startsWith("/objects/")) return false;
  const key = decodeURIComponent(url.pathname.slice("/objects/".length));
  const grant = objects.verifyLink(
    key,
    url.searchParams.get("expires") ?? undefined,
    url.searchParams.get("signature") ?? undefined,
  );
  if (grant === undefined) throw new NotFoundError("no such object, or the link expired");
  const source = await objects.source(grant.key);
  const range = source.size === undefined ? {} : { start: source.start, end: source.start + source.size - 1 };
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(source.path, range);
    stream.once("open", () => {
      response.writeHead(200, {
        "content-type": grant.key.endsWith(".gz") ? "application/gzip" : "application/octet-stream",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
        "content-disposition": `attachment; filename="${grant.key.split("/").pop() ?? "result"}"`,
      });
      stream.pipe(response);
    });
    stream.once("error", (error) =>
      reject(
        (error as NodeJS.ErrnoException).code === "ENOENT" ? new NotFoundError("no such object") : error,
      ),
    );
    stream.once("end", () => resolve());
  });
  return true;
}

/** The web Request a Node request carries (its body already read, within the limit). */
export function toRequest(request: IncomingMessage, url: URL, body: Buffer): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const one of value) headers.append(name, one);
    else headers.set(name, value);
  }
  const method = request.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD" && body.length > 0;
  return new Request(url, { method, headers, ...(hasBody ? { body } : {}) });
}

/** Writes a web Response to a Node response (each cookie its own `Set-Cookie` header). */
export async function writeResponse(response: ServerResponse, result: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  result.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = result.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  const body = Buffer.from(await result.arrayBuffer());
  response.writeHead(result.status, headers);
  response.end(body);
}

/** Starts the server on host:port (port 0 picks a free one). */
export async function startServer(options: LocalServerOptions): Promise<RunningServer> {
  let app: MountedApp | undefined;
  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(request.url ?? "/", "http://local");
    } catch {
      await writeResponse(
        response,
        jsonResponse(400, { error: { code: "invalid_request", message: "malformed URL" } }),
      );
      return;
    }
    try {
      if (app === undefined)
        throw new UnavailableError("starting", "the gateway is starting; retry shortly", {
          details: { retryAfterSeconds: 1 },
        });
      if (request.method === "GET" && (await serveObject(app.objects, url, response))) return;
      const body = await readBody(request);
      for (const { prefix, route } of app.localRoutes) {
        // A Request is built only for the route the path belongs to (building one per route per call cost every
        // API request a copy of its headers).
        if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) continue;
        const result = await route(toRequest(request, url, body));
        if (result !== undefined) {
          await writeResponse(response, result);
          return;
        }
      }
      const matched = app.routes.match(request.method ?? "GET", url.pathname);
      if (matched === undefined) throw new NotFoundError("no such route");
      if (matched === "method_not_allowed")
        throw new MethodNotAllowedError("method not allowed on this path");
      const handler = app.handlers.get(matched.route.id);
      if (handler === undefined) throw new NotFoundError("no such route");
      const context = {
        pathParameters: matched.pathParameters,
        sourceIp: request.socket.remoteAddress ?? null,
      };
      await writeResponse(response, await handler(toRequest(request, url, body), context));
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const result = errorResponse(error, options.logger);
      await writeResponse(response, result);
      if (error instanceof PayloadTooLargeError) request.destroy();
    }
  };
  const server = createServer((request, response) => {
    if (stopping) {
      // A request on a connection kept alive from before the stop: refused whole, and the connection closed.
      response.setHeader("connection", "close");
      void writeResponse(
        response,
        errorResponse(
          new UnavailableError("stopping", "the gateway is stopping; retry shortly"),
          options.logger,
        ),
      );
      return;
    }
    // In flight until the answer has left for the socket, not just until the handler returned: a large answer
    // still buffered would be lost when the drain closes the connections.
    const work = handle(request, response)
      .catch((error: unknown) => {
        options.logger.error("request failed outside the error mapping", errorFields(error));
        response.destroy();
      })
      .then(() => finished(response).catch(() => undefined)) // a caller that went away is no error
      .finally(() => inFlight.delete(work));
    inFlight.add(work);
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 120_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    stopping = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (inFlight.size > 0) {
      options.logger.info("waiting for requests in flight", { requests: inFlight.size });
      const deadline = sleep(options.drainMs ?? DRAIN_MS, "cut" as const, { ref: false });
      const outcome = await Promise.race([
        Promise.allSettled([...inFlight]).then(() => "drained" as const),
        deadline,
      ]);
      if (outcome === "cut") {
        options.logger.warn("cut requests still in flight after the drain time", { requests: inFlight.size });
      }
    }
    server.closeAllConnections();
    await closed;
  };
  return {
    url: `http://${address.address}:${address.port}`,
    server,
    mount: (mounted) => {
      app = mounted;
    },
    close: () => {
      closing ??= drain();
      return closing;
    },
  };
}
