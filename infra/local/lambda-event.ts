// Builds API Gateway HTTP API (payload v2) events from Node requests, and writes Lambda results back.

import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import type { MatchedRoute } from "#shared/http/routes.ts";

/** The event API Gateway would deliver for this request and route. */
export function toLambdaEvent(
  request: IncomingMessage,
  url: URL,
  matched: MatchedRoute,
  body: string,
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  // Like API Gateway (payload v2): cookies move from the Cookie header to `event.cookies`.
  const cookies = (headers.cookie ?? "")
    .split(";")
    .map((c) => c.trim())
    .filter((c) => c !== "");
  delete headers.cookie;
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  const routeKey = `${matched.route.method} ${matched.route.path}`;
  return {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ""),
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(matched.pathParameters).length > 0
      ? { pathParameters: { ...matched.pathParameters } }
      : {}),
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: headers.host ?? "127.0.0.1",
      domainPrefix: "local",
      http: {
        method: request.method ?? "GET",
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? "",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey,
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body === "" ? {} : { body }),
    isBase64Encoded: false,
  };
}

/** Writes a Lambda result to a Node response. */
export function writeLambdaResult(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const headers: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  if (result.cookies !== undefined && result.cookies.length > 0) headers["set-cookie"] = result.cookies;
  const body =
    result.body === undefined
      ? ""
      : result.isBase64Encoded
        ? Buffer.from(result.body, "base64")
        : result.body;
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}
