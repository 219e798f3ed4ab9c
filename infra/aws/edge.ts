// The AWS edge: API Gateway HTTP API (payload v2) events in as web `Request`s, the core's `Response`s back as results.

import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { DeadlineContext } from "#infra/aws/adapters/invocation-deadline.ts";
import type { ApiHandler } from "#shared/http/api-handler.ts";
import type { RouteContext } from "#shared/http/request.ts";

/** An API Gateway HTTP API (payload v2) Lambda handler. */
export type ApiGatewayHandler = (
  event: APIGatewayProxyEventV2,
  context?: DeadlineContext,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The request an event describes. API Gateway moves cookies out of the Cookie header into `event.cookies` (put back
 * here) and may base64-encode the body; the URL is rebuilt from the domain, the raw path and the raw query string.
 */
export function toRequest(event: APIGatewayProxyEventV2): { request: Request; context: RouteContext } {
  const http = event.requestContext?.http;
  const method = http?.method ?? "GET";
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers.set(name, value);
  }
  if (event.cookies !== undefined && event.cookies.length > 0)
    headers.set("cookie", event.cookies.join("; "));
  const host = event.requestContext?.domainName ?? headers.get("host") ?? "localhost";
  const query =
    event.rawQueryString === undefined || event.rawQueryString === "" ? "" : `?${event.rawQueryString}`;
  const url = new URL(`https://${host}${event.rawPath ?? http?.path ?? "/"}${query}`);
  const hasBody = event.body !== undefined && method !== "GET" && method !== "HEAD";
  const body = hasBody
    ? event.isBase64Encoded
      ? Buffer.from(event.body ?? "", "base64")
      : (event.body ?? "")
    : undefined;
  const pathParameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
    if (value !== undefined) pathParameters[name] = value;
  }
  return {
    request: new Request(url, { method, headers, ...(body === undefined ? {} : { body }) }),
    context: { pathParameters, sourceIp: http?.sourceIp ?? null },
  };
}

/** The result shape of a response: `Set-Cookie` headers become `cookies`, the body is text (JSON or HTML). */
export async function toResult(response: Response): Promise<APIGatewayProxyStructuredResultV2> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  return {
    statusCode: response.status,
    headers,
    ...(cookies.length === 0 ? {} : { cookies }),
    body: await response.text(),
  };
}

/** A route handler served behind API Gateway. */
export function apiGatewayHandler(handler: ApiHandler): ApiGatewayHandler {
  return async (event) => {
    const { request, context } = toRequest(event);
    return toResult(await handler(request, context));
  };
}
