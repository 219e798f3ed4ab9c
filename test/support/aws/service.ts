// What every loopback stand-in shares: the call it receives, the errors it answers, and the wire formats of errors.

import type { IamDecision, IamRequest } from "./iam.ts";
import type { WireRequest } from "./sigv4.ts";

/** An HTTP response on the wire. */
export interface WireResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
}

/** A verified call to a stand-in. */
export interface ServiceCall {
  readonly request: WireRequest;
  /** The calling role's ARN (from the access key that signed the call). */
  readonly principal: string;
  /** The function (or the state machine) that called, for the per-function counts. */
  readonly caller: string;
  /** Checks one IAM action of the call; throws AccessDenied (as the service would) when refused. */
  authorize(action: string, resource: string, context?: IamRequest["context"]): IamDecision;
  /** Whether the caller's policies allow an action, without recording a call (S3's 403-or-404 choice). */
  allowed(action: string, resource: string, context?: IamRequest["context"]): boolean;
  /** Records the operation's name, for the per-query request counts. */
  operation(name: string): void;
}

/** A service error as AWS returns it: HTTP status, error code (`__type` / `Code`) and message. */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** One service behind the loopback endpoint, chosen by the signing name in the credential scope. */
export interface LoopbackService {
  /** The SigV4 signing name (`dynamodb`, `s3`, `rds-data`, `states`, `kms`, `secretsmanager`, `sns`). */
  readonly signingName: string;
  /** How errors are written: the service's protocol. */
  readonly protocol: "awsJson1_0" | "awsJson1_1" | "restJson1" | "awsQuery" | "restXml";
  /** The JSON services' error namespace (`com.amazonaws.dynamodb.v20120810`). */
  readonly errorNamespace?: string;
  handle(call: ServiceCall): Promise<WireResponse>;
}

const xmlEscape = (text: string): string => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Writes a service error in the service's protocol. */
export function errorResponse(
  service: LoopbackService,
  error: ServiceError,
  requestId: string,
): WireResponse {
  switch (service.protocol) {
    case "awsJson1_0":
    case "awsJson1_1":
      return {
        status: error.status,
        headers: {
          "content-type": `application/x-amz-json-${service.protocol === "awsJson1_0" ? "1.0" : "1.1"}`,
          "x-amzn-requestid": requestId,
        },
        body: JSON.stringify({
          __type: `${service.errorNamespace ?? ""}#${error.code}`,
          message: error.message,
          ...error.extra,
        }),
      };
    case "restJson1":
      return {
        status: error.status,
        headers: {
          "content-type": "application/json",
          "x-amzn-errortype": error.code,
          "x-amzn-requestid": requestId,
        },
        body: JSON.stringify({ message: error.message, ...error.extra }),
      };
    case "awsQuery":
      return {
        status: error.status,
        headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
        body:
          `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>` +
          `<Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error>` +
          `<RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    case "restXml":
      return {
        status: error.status,
        headers: {
          "content-type": "application/xml",
          "x-amz-request-id": requestId,
          ...((error.extra.headers ?? {}) as Record<string, string>),
        },
        body:
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(error.code)}</Code>` +
          `<Message>${xmlEscape(error.message)}</Message><RequestId>${requestId}</RequestId></Error>`,
      };
  }
}

/** A JSON-protocol success response. */
export function jsonResponse(protocol: LoopbackService["protocol"], body: unknown): WireResponse {
  const type =
    protocol === "awsJson1_0"
      ? "application/x-amz-json-1.0"
      : protocol === "awsJson1_1"
        ? "application/x-amz-json-1.1"
        : "application/json";
  return { status: 200, headers: { "content-type": type }, body: JSON.stringify(body) };
}

/** The operation a JSON-RPC service is asked for (`X-Amz-Target: Prefix.Operation`). */
export function targetOperation(request: WireRequest, prefix: string): string {
  const target = String(request.headers["x-amz-target"] ?? "");
  if (!target.startsWith(`${prefix}.`))
    throw new ServiceError(400, "UnknownOperationException", "unknown target");
  return target.slice(prefix.length + 1);
}

/** Parses a JSON request body (`{}` when empty), or answers SerializationException. */
export function jsonBody(request: WireRequest): Record<string, unknown> {
  if (request.body.length === 0) return {};
  try {
    return JSON.parse(request.body.toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new ServiceError(400, "SerializationException", "the request body is not JSON");
  }
}
