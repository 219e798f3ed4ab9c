// The one loopback https endpoint every AWS_ENDPOINT_URL_* points to: verifies SigV4, names the caller, checks IAM,
// dispatches by the credential scope's service, and counts requests per caller and operation.

import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { IamDecision, IamRequest, OfflineIam } from "./iam.ts";
import { errorResponse, type LoopbackService, ServiceError, type WireResponse } from "./service.ts";
import { SignatureError, verifySigV4, type WireRequest } from "./sigv4.ts";

/** Temporary credentials of one caller (a Lambda's execution role, or the state machine's role). */
export interface LoopbackCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly principal: string;
  readonly caller: string;
}

/** One request the endpoint served. */
export interface CallRecord {
  readonly seq: number;
  readonly caller: string;
  readonly service: string;
  readonly operation: string;
  readonly status: number;
}

/** What AWS answers when IAM refuses a call, per service. */
/** A call to hold before answering (a hung dependency), consumed by the first call it matches. */
interface Stall {
  readonly call: string;
  readonly urlPart: string;
  readonly ms: number;
  readonly taken: () => void;
}

const ACCESS_DENIED: Readonly<Record<string, { status: number; code: string }>> = {
  s3: { status: 403, code: "AccessDenied" },
  sns: { status: 403, code: "AuthorizationError" },
  "rds-data": { status: 403, code: "AccessDeniedException" },
};

/** The endpoint and its bookkeeping. */
export class LoopbackEndpoint {
  readonly calls: CallRecord[] = [];
  /** Calls the endpoint could not serve at all (bad signature, unknown service): each one fails the run. */
  readonly rejected: { reason: string; url: string }[] = [];
  private readonly credentials = new Map<string, LoopbackCredentials>();
  private readonly stalls: Stall[] = [];
  private readonly held = new Set<() => void>();
  private readonly services: Map<string, LoopbackService>;
  private seq = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    services: readonly LoopbackService[],
    private readonly iam: OfflineIam,
  ) {
    this.services = new Map(services.map((s) => [s.signingName, s]));
  }

  /** Starts the endpoint on 127.0.0.1 with the given certificate. */
  static async start(options: {
    readonly key: string;
    readonly cert: string;
    readonly services: readonly LoopbackService[];
    readonly iam: OfflineIam;
  }): Promise<LoopbackEndpoint> {
    let endpoint: LoopbackEndpoint | undefined;
    const server = createServer({ key: options.key, cert: options.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const wire: WireRequest = {
          method: req.method ?? "GET",
          url: req.url ?? "/",
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        void (endpoint as LoopbackEndpoint).serve(wire).then((response) => {
          res.writeHead(response.status, response.headers ?? {});
          res.end(req.method === "HEAD" ? undefined : response.body);
        });
      });
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    endpoint = new LoopbackEndpoint(server, `https://127.0.0.1:${port}`, options.services, options.iam);
    return endpoint;
  }

  /** Issues credentials for a caller assuming a role (what Lambda puts in a function's environment). */
  issue(caller: string, principal: string): LoopbackCredentials {
    const credentials: LoopbackCredentials = {
      accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString("base64"),
      sessionToken: randomBytes(48).toString("base64"),
      principal,
      caller,
    };
    this.credentials.set(credentials.accessKeyId, credentials);
    return credentials;
  }

  /** The sequence number of the next call (take it before a step, read `since` after). */
  mark(): number {
    return this.seq;
  }

  /** Calls made since a mark. */
  since(mark: number): CallRecord[] {
    return this.calls.filter((c) => c.seq >= mark);
  }

  /**
   * Holds the next call matching `call` (`service:Operation`) whose URL contains `urlPart` for `ms` after serving it,
   * as a hung dependency would; resolves when such a call arrived.
   */
  stall(call: string, urlPart: string, ms: number): Promise<void> {
    return new Promise((taken) => {
      this.stalls.push({ call, urlPart, ms, taken });
    });
  }

  async close(): Promise<void> {
    for (const release of this.held) release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(request: WireRequest): Promise<WireResponse> {
    const requestId = randomUUID();
    let signed: ReturnType<typeof verifySigV4>;
    try {
      signed = verifySigV4(request, (id) => this.credentials.get(id)?.secretAccessKey, new Date());
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.rejected.push({ reason, url: request.url.split("?")[0] ?? "" });
      const code = error instanceof SignatureError ? error.code : "AccessDenied";
      return {
        status: 403,
        headers: { "content-type": "application/xml" },
        body: `<Error><Code>${code}</Code><Message>${reason}</Message></Error>`,
      };
    }
    const credentials = this.credentials.get(signed.accessKeyId) as LoopbackCredentials;
    const service = this.services.get(signed.service);
    if (service === undefined) {
      this.rejected.push({ reason: `no stand-in for ${signed.service}`, url: request.url });
      return { status: 400, body: `no stand-in for ${signed.service}` };
    }
    if (!signed.presigned && request.headers["x-amz-security-token"] !== credentials.sessionToken) {
      return errorResponse(
        service,
        new ServiceError(403, "InvalidClientTokenId", "bad security token"),
        requestId,
      );
    }
    const seq = this.seq++;
    let operation = "?";
    const denied = ACCESS_DENIED[signed.service] ?? { status: 400, code: "AccessDeniedException" };
    const call = {
      request,
      principal: credentials.principal,
      caller: credentials.caller,
      operation: (name: string) => {
        operation = name;
      },
      allowed: (action: string, resource: string, context?: IamRequest["context"]): boolean =>
        this.iam.check({
          principal: credentials.principal,
          action,
          resource,
          context: { "aws:SecureTransport": true, ...context },
        }).allowed,
      authorize: (action: string, resource: string, context?: IamRequest["context"]): IamDecision => {
        const decision = this.iam.authorize({
          principal: credentials.principal,
          action,
          resource,
          context: { "aws:SecureTransport": true, ...context },
        });
        if (!decision.allowed) {
          throw new ServiceError(
            denied.status,
            denied.code,
            `User: ${credentials.principal} is not authorized to perform: ${action} on resource: ${resource} (${decision.reason})`,
          );
        }
        return decision;
      },
    };
    let response: WireResponse;
    try {
      response = await service.handle(call);
    } catch (error) {
      const failure =
        error instanceof ServiceError
          ? error
          : new ServiceError(500, "InternalFailure", error instanceof Error ? error.message : String(error));
      if (!(error instanceof ServiceError)) this.rejected.push({ reason: failure.message, url: request.url });
      response = errorResponse(service, failure, requestId);
    }
    this.calls.push({
      seq,
      caller: credentials.caller,
      service: signed.service,
      operation,
      status: response.status,
    });
    const stall = this.stalls.findIndex(
      (s) => s.call === `${signed.service}:${operation}` && request.url.includes(s.urlPart),
    );
    const [held] = stall >= 0 ? this.stalls.splice(stall, 1) : [];
    if (held !== undefined) {
      held.taken();
      await new Promise<void>((resolve) => {
        const release = () => {
          clearTimeout(timer);
          this.held.delete(release);
          resolve();
        };
        const timer = setTimeout(release, held.ms);
        this.held.add(release);
      });
    }
    return { ...response, headers: { "x-amzn-requestid": requestId, ...response.headers } };
  }
}
