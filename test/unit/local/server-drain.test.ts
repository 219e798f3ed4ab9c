// Starting and stopping the local server: a request before the app is mounted is told to retry; requests in flight
// are answered before it closes, nothing new gets in, and a request still running when the drain time is up is cut
// rather than holding the stop forever.

import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FileObjectStore } from "#infra/local/adapters/file-object-store.ts";
import { type RunningServer, startServer } from "#infra/local/server.ts";
import { jsonResponse } from "#shared/http/error-response.ts";
import type { RouteContext } from "#shared/http/request.ts";
import { defineRoute } from "#shared/http/route.ts";
import { RouteTable } from "#shared/http/route-table.ts";
import { createJsonLogger } from "#shared/log.ts";

/** A request the handler holds until the test releases it. */
class Held {
  private entering = () => {};
  private opening = () => {};
  readonly entered = new Promise<void>((resolve) => {
    this.entering = resolve;
  });
  private readonly opened = new Promise<void>((resolve) => {
    this.opening = resolve;
  });
  /** Called by the handler: announces the request and waits for `release`. */
  async pass(): Promise<void> {
    this.entering();
    await this.opened;
  }
  release(): void {
    this.opening();
  }
}

interface Answer {
  readonly status: number;
  readonly connection: string | undefined;
  readonly retryAfter?: string | undefined;
  readonly body: string;
}

function send(url: string, path: string, agent: Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { agent }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          connection: response.headers.connection,
          retryAfter: response.headers["retry-after"],
          body,
        }),
      );
      response.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("local server stop", () => {
  let dir: string;
  let held: Map<string, Held>;
  let server: RunningServer;
  const logged: string[] = [];

  async function start(drainMs?: number): Promise<void> {
    server = await startServer({
      host: "127.0.0.1",
      port: 0,
      logger: createJsonLogger({ service: "test", level: "info", write: (line) => logged.push(line) }),
      ...(drainMs === undefined ? {} : { drainMs }),
    });
    const objects = new FileObjectStore({
      directory: dir,
      linkKey: randomBytes(32),
      baseUrl: () => server.url,
    });
    // GET /v1/sessions/{id}: "fast" answers at once; any other id waits for its Held to be released.
    const handler = async (_request: Request, context: RouteContext) => {
      const id = context.pathParameters.id ?? "";
      await held.get(id)?.pass();
      return jsonResponse(200, { id });
    };
    const route = defineRoute({
      id: "get-session",
      method: "GET",
      path: "/v1/sessions/{id}",
      auth: "none",
      needsParser: false,
      capabilities: {},
      create: () => handler,
    });
    server.mount({
      routes: new RouteTable([route]),
      handlers: new Map([["get-session", handler]]),
      localRoutes: [],
      objects,
    });
  }

  function hold(id: string): Held {
    const gate = new Held();
    held.set(id, gate);
    return gate;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "phigate-drain-"));
    held = new Map();
    logged.length = 0;
  });
  afterEach(async () => {
    for (const gate of held.values()) gate.release();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers requests in flight, refuses new connections, and tells a kept-alive connection it is stopping", async () => {
    await start();
    const first = hold("first");
    const second = hold("second");
    const connectionA = new Agent({ keepAlive: true, maxSockets: 1 });
    const connectionB = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const firstAnswer = send(server.url, "/v1/sessions/first", connectionA);
      const secondAnswer = send(server.url, "/v1/sessions/second", connectionB);
      await Promise.all([first.entered, second.entered]);

      let closed = false;
      const closing = server.close().then(() => {
        closed = true;
      });
      await expect(send(server.url, "/v1/sessions/fast", false)).rejects.toMatchObject({
        code: "ECONNREFUSED",
      });

      first.release();
      expect(await firstAnswer).toMatchObject({ status: 200, body: '{"id":"first"}' });
      // The same connection, while "second" still holds the stop open: refused whole, and told to close.
      const late = await send(server.url, "/v1/sessions/fast", connectionA);
      expect(late.status).toBe(503);
      expect(late.connection).toBe("close");
      expect(JSON.parse(late.body)).toMatchObject({ error: { code: "stopping" } });
      expect(closed).toBe(false);

      second.release();
      expect(await secondAnswer).toMatchObject({ status: 200, body: '{"id":"second"}' });
      await closing;
      expect(logged.some((line) => line.includes("waiting for requests in flight"))).toBe(true);
      expect(logged.some((line) => line.includes("cut requests"))).toBe(false);
    } finally {
      connectionA.destroy();
      connectionB.destroy();
    }
  });

  it("answers a request that arrives before the app is mounted 503 starting, with when to retry", async () => {
    server = await startServer({
      host: "127.0.0.1",
      port: 0,
      logger: createJsonLogger({ service: "test", level: "info", write: (line) => logged.push(line) }),
    });
    const early = await send(server.url, "/v1/sessions/fast", false);
    expect(early).toMatchObject({ status: 503, retryAfter: "1" });
    expect(JSON.parse(early.body)).toEqual({
      error: {
        code: "starting",
        message: "the gateway is starting; retry shortly",
        details: { retryAfterSeconds: 1 },
      },
    });
  });

  it("cuts a request still running when the drain time is up, and says so", async () => {
    await start(200);
    const stuck = hold("stuck");
    const answer = send(server.url, "/v1/sessions/stuck", false);
    answer.catch(() => undefined);
    await stuck.entered;
    await server.close();
    await expect(answer).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(logged.some((line) => line.includes("cut requests still in flight"))).toBe(true);
  });

  it("closes at once when nothing is in flight", async () => {
    await start();
    expect(await send(server.url, "/v1/sessions/fast", false)).toMatchObject({ status: 200 });
    await server.close();
    await expect(send(server.url, "/v1/sessions/fast", false)).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
    expect(logged.some((line) => line.includes("waiting for requests in flight"))).toBe(false);
  });
});
