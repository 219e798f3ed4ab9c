// The AWS edge: API Gateway v2 events become the Request the core reads, and its Response the result API Gateway sends.

import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { apiGatewayHandler, toRequest, toResult } from "#infra/aws/edge.ts";

function event(overrides: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /approvals/{id}",
    rawPath: "/approvals/apr_1",
    rawQueryString: "done=approve&x=1&x=2",
    cookies: ["phigate_session=abc", "other=1"],
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://gw.example.org" },
    pathParameters: { id: "apr_1" },
    requestContext: {
      domainName: "gw.example.org",
      http: {
        method: "POST",
        path: "/approvals/apr_1",
        sourceIp: "192.0.2.7",
        userAgent: "t",
        protocol: "HTTP/1.1",
      },
    },
    body: Buffer.from("csrf=t&decision=approve").toString("base64"),
    isBase64Encoded: true,
    ...overrides,
  } as unknown as APIGatewayProxyEventV2;
}

describe("AWS edge", () => {
  it("rebuilds the request: URL, method, headers, the cookies API Gateway moved out, the decoded body, the context", async () => {
    const { request, context } = toRequest(event());
    expect(request.url).toBe("https://gw.example.org/approvals/apr_1?done=approve&x=1&x=2");
    expect(request.method).toBe("POST");
    expect(request.headers.get("cookie")).toBe("phigate_session=abc; other=1");
    expect(request.headers.get("origin")).toBe("https://gw.example.org");
    expect(await request.text()).toBe("csrf=t&decision=approve");
    expect(context).toEqual({ pathParameters: { id: "apr_1" }, sourceIp: "192.0.2.7" });
  });

  it("gives a GET no body and a plain-text body as it came", async () => {
    const get = toRequest(
      event({
        body: "ignored",
        isBase64Encoded: false,
        requestContext: { http: { method: "GET" } },
      } as never),
    );
    expect(get.request.method).toBe("GET");
    expect(get.request.body).toBeNull();
    const post = toRequest(event({ body: '{"a":1}', isBase64Encoded: false }));
    expect(await post.request.text()).toBe('{"a":1}');
  });

  it("turns a response into a result: status, headers, each Set-Cookie into `cookies`, the body as text", async () => {
    const headers = new Headers({ "content-type": "text/html; charset=utf-8", location: "/x" });
    headers.append("set-cookie", "a=1; Path=/");
    headers.append("set-cookie", "b=2; Path=/");
    const result = await toResult(new Response("<p>hi</p>", { status: 303, headers }));
    expect(result).toEqual({
      statusCode: 303,
      headers: { "content-type": "text/html; charset=utf-8", location: "/x" },
      cookies: ["a=1; Path=/", "b=2; Path=/"],
      body: "<p>hi</p>",
    });
    const plain = await toResult(new Response(null, { status: 204 }));
    expect(plain).toEqual({ statusCode: 204, headers: {}, body: "" });
  });

  it("serves a route handler behind API Gateway", async () => {
    const handler = apiGatewayHandler(async (request, context) =>
      Response.json({ id: context.pathParameters.id, done: new URL(request.url).searchParams.get("done") }),
    );
    const result = await handler(event());
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(String(result.body))).toEqual({ id: "apr_1", done: "approve" });
  });
});
