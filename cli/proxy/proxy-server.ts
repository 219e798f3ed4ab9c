// The proxy's listener on 127.0.0.1: startup (TLS declined), password, then one ProxyConnection per client.

import { createHash, randomInt, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { FrontendFramer } from "#cli/proxy/frontend-framer.ts";
import { ProxyConnection } from "#cli/proxy/proxy-connection.ts";
import { backend, readFrontendMessage, readStartupPacket } from "#cli/proxy/wire-messages.ts";
import type { GatewayClient } from "#shared/gateway-client/gateway-client.ts";

/** How to run the proxy. */
export interface ProxyOptions {
  readonly client: GatewayClient;
  /** 0 picks a free port. */
  readonly port: number;
  /** The password every connection must give (any user name). */
  readonly password: string;
  /** Recorded with every statement's session. */
  readonly purpose?: string;
  /** One line per event worth an operator's eye (never SQL, values or tokens). */
  readonly log?: (line: string) => void;
}

/** A listening proxy. */
export interface RunningProxy {
  readonly host: string;
  readonly port: number;
  /** Stops listening and drops every connection (statements waiting for approval stop waiting). */
  close(): Promise<void>;
}

const HOST = "127.0.0.1";
/** The server version announced: clients adapt their SQL to it; the gateway's own PostgreSQL may differ. */
const SERVER_VERSION = "15.0";
/** Messages queued on one connection before the socket is paused until they are handled. */
const HIGH_WATER = 256;

/** Settings announced at startup (ParameterStatus); the gateway's sessions use these values. */
function announced(user: string, applicationName: string): [string, string][] {
  return [
    ["server_version", SERVER_VERSION],
    ["server_encoding", "UTF8"],
    ["client_encoding", "UTF8"],
    ["DateStyle", "ISO, YMD"],
    ["TimeZone", "UTC"],
    ["IntervalStyle", "iso_8601"],
    ["integer_datetimes", "on"],
    ["standard_conforming_strings", "on"],
    ["application_name", applicationName],
    ["is_superuser", "off"],
    ["session_authorization", user],
    ["default_transaction_read_only", "on"],
    ["in_hot_standby", "off"],
  ];
}

/** SHOW answers by lower-case name: the announced settings plus a few fixed ones. */
function showable(settings: readonly [string, string][]): Map<string, string> {
  const show = new Map(settings.map(([k, v]) => [k.toLowerCase(), v]));
  for (const [k, v] of [
    ["transaction_isolation", "read committed"],
    ["default_transaction_isolation", "read committed"],
    ["transaction_read_only", "on"],
    ["max_identifier_length", "63"],
    ["extra_float_digits", "1"],
    ["bytea_output", "hex"],
  ] as const)
    show.set(k, v);
  return show;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Listens on 127.0.0.1 for PostgreSQL clients (psql, node-postgres, psycopg, JDBC). A client authenticates with
 * `password` (cleartext over loopback; SSL and GSS encryption are declined); each of its statements then becomes one
 * request of the gateway's API with the proxy's identity. A CancelRequest (psql's Ctrl-C) stops the statement
 * running on that connection: a wait for approval stops, the approval request stays open.
 */
export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const expected = digest(options.password);
  const cancelKeys = new Map<number, { secret: number; connection: ProxyConnection }>();
  const sockets = new Set<Socket>();

  const serve = (socket: Socket): void => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const framer = new FrontendFramer();
    const processId = randomInt(1, 2 ** 31 - 1);
    const secret = randomInt(0, 2 ** 31 - 1);
    const queue: Buffer[] = [];
    let phase: "startup" | "password" | "ready" | "closed" = "startup";
    let user = "";
    let applicationName = "";
    let connection: ProxyConnection | undefined;
    let draining = false;
    const open = (): boolean => phase !== "closed";

    const forget = (): void => {
      phase = "closed";
      sockets.delete(socket);
      connection?.close();
      if (cancelKeys.get(processId)?.connection === connection) cancelKeys.delete(processId);
    };
    const fatal = (code: string, message: string): void => {
      phase = "closed";
      queue.length = 0;
      socket.end(backend.report("error", { severity: "FATAL", code, message }));
    };

    const startup = (frame: Buffer): void => {
      const packet = readStartupPacket(frame);
      switch (packet.type) {
        case "ssl":
        case "gss":
          socket.write("N");
          return;
        case "cancel": {
          const key = cancelKeys.get(packet.processId);
          if (key !== undefined && key.secret === packet.secret) key.connection.cancel();
          phase = "closed";
          socket.end();
          return;
        }
        case "startup":
          if (packet.parameters.user === undefined || packet.parameters.user === "") {
            fatal("28000", "no PostgreSQL user name specified in startup packet");
            return;
          }
          user = packet.parameters.user;
          applicationName = packet.parameters.application_name ?? "";
          framer.started();
          queue.unshift(...framer.more());
          phase = "password";
          socket.write(backend.authenticationCleartextPassword());
          return;
        default:
          fatal("0A000", "phigate proxy: unsupported frontend protocol (3.0 only)");
      }
    };

    const authenticate = (frame: Buffer): void => {
      const password =
        frame[0] === 0x70 ? frame.subarray(5, frame.indexOf(0, 5)).toString("utf8") : undefined;
      if (password === undefined || !timingSafeEqual(digest(password), expected)) {
        fatal("28P01", `password authentication failed for user "${user}"`);
        return;
      }
      const settings = announced(user, applicationName);
      connection = new ProxyConnection(
        options.client,
        {
          write: (data) => socket.write(data),
          drain: async () => {
            if (socket.destroyed) return;
            await Promise.race([once(socket, "drain"), once(socket, "close")]);
          },
          end: () => socket.end(),
        },
        showable(settings),
        {
          ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
          ...(options.log === undefined ? {} : { log: options.log }),
        },
      );
      cancelKeys.set(processId, { secret, connection });
      phase = "ready";
      socket.write(
        Buffer.concat([
          backend.authenticationOk(),
          ...settings.map(([name, value]) => backend.parameterStatus(name, value)),
          backend.backendKeyData(processId, secret),
          backend.readyForQuery("I"),
        ]),
      );
    };

    const drain = async (): Promise<void> => {
      if (draining) return;
      draining = true;
      try {
        for (let frame = queue.shift(); frame !== undefined && open(); frame = queue.shift()) {
          try {
            if (phase === "startup") startup(frame);
            else if (phase === "password") authenticate(frame);
            else await connection?.handle(readFrontendMessage(frame));
          } catch (error) {
            if (!(error instanceof RangeError)) throw error;
            fatal("08P01", "phigate proxy: malformed protocol message");
          }
          if (queue.length < HIGH_WATER / 2 && socket.isPaused() && open()) socket.resume();
        }
      } finally {
        draining = false;
      }
    };

    socket.on("data", (chunk: Buffer) => {
      if (!open()) return;
      try {
        queue.push(...framer.push(chunk));
      } catch {
        fatal("08P01", "phigate proxy: invalid message length");
        return;
      }
      if (queue.length >= HIGH_WATER) socket.pause();
      drain().catch((error: unknown) => {
        options.log?.(`phigate proxy: connection failed (${(error as Error).name})`);
        socket.destroy();
      });
    });
    socket.on("error", forget);
    socket.on("close", forget);
  };

  const server: Server = createServer(serve);
  server.listen(options.port, HOST);
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  return {
    host: HOST,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
