// The HTTP API of the template, in process: routes and integrations as synthesized, the JWT authorizer at the edge,
// payload format 2.0 events, and the Lambda proxy response turned back into an HTTP response.
// Pinned to the API Gateway developer guide: "Control access to HTTP APIs with JWT authorizers" (token from the identity
// source with or without `Bearer`, keys from the issuer's discovery document, RSA algorithms only, iss, aud, exp/nbf;
// 401 {"message":"Unauthorized"}) and "Create AWS Lambda proxy integrations for HTTP APIs" (the 2.0 event: cookies
// array, comma-joined headers, claims as strings; the response's statusCode, headers, cookies, isBase64Encoded; a
// function error is 500 {"message":"Internal Server Error"}; the integration's timeout, 30 s by default, is 503).

import { randomUUID } from "node:crypto";
import { request as httpsRequest } from "node:https";
import { createLocalJWKSet, jwtVerify } from "jose";
import type { LambdaHost } from "./lambda-host.ts";
import type { ResolvedStack } from "./template.ts";

/** A request the test sends to the API. */
export interface ApiRequest {
  readonly method: "GET" | "POST";
  /** Path and query, e.g. `/v1/sessions/ses_1?wait=20`. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cookies?: readonly string[];
  readonly body?: string;
  /**
   * Time the request is taken to have spent already (on AWS a cold start spends the integration's timeout before the
   * handler runs): the event's `timeEpoch` is that much earlier, and the integration's timeout that much nearer.
   */
  readonly spentMs?: number;
}

/** What the API answered. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly cookies: readonly string[];
  readonly body: string;
  /** The function that served it (undefined when the edge answered). */
  readonly functionId: string | undefined;
}

interface Route {
  readonly method: string;
  readonly path: string;
  readonly pattern: RegExp;
  readonly params: readonly string[];
  readonly jwt: boolean;
  /** The route sits behind the Lambda REQUEST authorizer (`AuthorizationType: CUSTOM`). */
  readonly custom: boolean;
  readonly functionArn: string;
  readonly routeKey: string;
  /** The integration's timeout (`TimeoutInMillis`; 30 s, the HTTP API's default, when the template sets none). */
  readonly timeoutMs: number;
}

/** GETs JSON over https trusting the loopback certificate. */
export function httpsJson(url: string, ca: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript)|application\/[a-z.+-]*\+json)/i;

/** The synthesized HTTP API. */
export class HttpApiEdge {
  private readonly routes: Route[] = [];
  private readonly authorizer: { issuer: string; audience: readonly string[] } | undefined;
  private keys: ReturnType<typeof createLocalJWKSet> | undefined;
  /** The Lambda authorizer (payload 2.0, simple responses), when the template has one. */
  private readonly lambdaAuthorizer: { functionArn: string; ttlSeconds: number } | undefined;
  /** Its cached answers by identity source, until they expire. */
  private readonly authorizerCache = new Map<string, { allowed: boolean; until: number }>();
  /** Requests the edge refused (401, or 403 from the Lambda authorizer) before any route function ran. */
  refusedAtEdge = 0;

  constructor(
    stack: ResolvedStack,
    private readonly lambda: LambdaHost,
    private readonly ca: string,
    private readonly apiId: string,
  ) {
    const authorizer = stack.ofType("AWS::ApiGatewayV2::Authorizer")[0];
    const jwt = authorizer?.properties.JwtConfiguration as { Issuer: string; Audience: string[] } | undefined;
    this.authorizer = jwt === undefined ? undefined : { issuer: jwt.Issuer, audience: jwt.Audience };
    const request = stack
      .ofType("AWS::ApiGatewayV2::Authorizer")
      .find((a) => a.properties.AuthorizerType === "REQUEST")?.properties as
      | {
          AuthorizerUri: string;
          AuthorizerResultTtlInSeconds?: number;
          AuthorizerPayloadFormatVersion: string;
        }
      | undefined;
    if (request !== undefined && request.AuthorizerPayloadFormatVersion !== "2.0")
      throw new Error("the Lambda authorizer must use payload format 2.0");
    this.lambdaAuthorizer =
      request === undefined
        ? undefined
        : {
            functionArn: String(request.AuthorizerUri).replace(/^.*\/functions\/(.*)\/invocations$/, "$1"),
            ttlSeconds: request.AuthorizerResultTtlInSeconds ?? 0,
          };
    const integrations = new Map(
      stack
        .ofType("AWS::ApiGatewayV2::Integration")
        .map((i) => [stack.ref(i.logicalId), i.properties] as const),
    );
    for (const route of stack.ofType("AWS::ApiGatewayV2::Route")) {
      const p = route.properties as { RouteKey: string; AuthorizationType?: string; Target: string };
      const integration = integrations.get(p.Target.replace(/^integrations\//, ""));
      if (integration === undefined || integration.PayloadFormatVersion !== "2.0")
        throw new Error(`route ${p.RouteKey} has no payload-2.0 integration`);
      const [method = "", path = ""] = p.RouteKey.split(" ");
      const params: string[] = [];
      const pattern = new RegExp(
        `^${path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
          params.push(name);
          return "([^/]+)";
        })}$`,
      );
      this.routes.push({
        method,
        path,
        pattern,
        params,
        jwt: p.AuthorizationType === "JWT",
        custom: p.AuthorizationType === "CUSTOM",
        functionArn: String(integration.IntegrationUri),
        routeKey: p.RouteKey,
        timeoutMs: Number(integration.TimeoutInMillis ?? 30_000),
      });
    }
  }

  async send(request: ApiRequest): Promise<ApiResponse> {
    const received = Date.now() - (request.spentMs ?? 0);
    const [rawPath = "/", rawQuery = ""] = request.path.split(/\?(.*)/s);
    const match = this.routes
      .map((route) => ({ route, m: route.method === request.method ? route.pattern.exec(rawPath) : null }))
      // A literal path beats a parameterized one, as API Gateway prefers the most specific route.
      .filter((r) => r.m !== null)
      .sort((a, b) => a.route.params.length - b.route.params.length)[0];
    const edge = (status: number, message: string): ApiResponse => ({
      status,
      headers: { "content-type": "application/json" },
      cookies: [],
      body: JSON.stringify({ message }),
      functionId: undefined,
    });
    if (match === undefined || match.m === null) return edge(404, "Not Found");
    const { route } = match;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers ?? {})) headers[k.toLowerCase()] = v;
    let claims: Record<string, string> | undefined;
    if (route.custom) {
      const refused = await this.authorizeByLambda(headers.authorization, route.routeKey, rawPath);
      if (refused !== undefined) {
        this.refusedAtEdge++;
        return edge(refused.status, refused.message);
      }
    }
    if (route.jwt) {
      claims = await this.authorize(headers.authorization);
      if (claims === undefined) {
        this.refusedAtEdge++;
        return {
          ...edge(401, "Unauthorized"),
          headers: { "content-type": "application/json", "www-authenticate": 'Bearer error="invalid_token"' },
        };
      }
    }
    const now = new Date(received);
    const contentType = headers["content-type"] ?? "";
    const binary = request.body !== undefined && !TEXT_TYPES.test(contentType);
    const event = {
      version: "2.0",
      routeKey: route.routeKey,
      rawPath,
      rawQueryString: rawQuery,
      ...(request.cookies === undefined || request.cookies.length === 0
        ? {}
        : { cookies: [...request.cookies] }),
      headers: { host: `${this.apiId}.execute-api.local`, "x-forwarded-proto": "https", ...headers },
      ...(rawQuery === ""
        ? {}
        : { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQuery)) }),
      requestContext: {
        accountId: "123456789012",
        apiId: this.apiId,
        ...(claims === undefined ? {} : { authorizer: { jwt: { claims, scopes: null } } }),
        domainName: `${this.apiId}.execute-api.local`,
        domainPrefix: this.apiId,
        http: {
          method: request.method,
          path: rawPath,
          protocol: "HTTP/1.1",
          sourceIp: "192.0.2.10",
          userAgent: headers["user-agent"] ?? "phigate-e2e",
        },
        requestId: randomUUID(),
        routeKey: route.routeKey,
        stage: "$default",
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
      },
      ...(route.params.length === 0
        ? {}
        : {
            pathParameters: Object.fromEntries(
              route.params.map((p, i) => [p, decodeURIComponent(match.m?.[i + 1] ?? "")]),
            ),
          }),
      ...(request.body === undefined
        ? {}
        : { body: binary ? Buffer.from(request.body).toString("base64") : request.body }),
      isBase64Encoded: binary,
    };
    const functionId = this.lambda.idOfArn(route.functionArn);
    const timer = new Promise<"timeout">((resolve) =>
      setTimeout(() => resolve("timeout"), received + route.timeoutMs - Date.now()).unref(),
    );
    const outcome = await Promise.race([this.lambda.invoke(route.functionArn, event, "apigateway"), timer]);
    if (outcome === "timeout") return { ...edge(503, "Service Unavailable"), functionId };
    if ("error" in outcome) return { ...edge(500, "Internal Server Error"), functionId };
    const result = outcome.result as {
      statusCode?: number;
      headers?: Record<string, string>;
      cookies?: string[];
      body?: string;
      isBase64Encoded?: boolean;
    } | null;
    if (result === null || typeof result !== "object" || typeof result.statusCode !== "number") {
      return {
        status: 200,
        headers: { "content-type": "application/json" },
        cookies: [],
        body: JSON.stringify(result),
        functionId,
      };
    }
    const body = result.body ?? "";
    return {
      status: result.statusCode,
      headers: Object.fromEntries(
        Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
      ),
      cookies: result.cookies ?? [],
      body: result.isBase64Encoded === true ? Buffer.from(body, "base64").toString("utf8") : body,
      functionId,
    };
  }

  /**
   * The Lambda REQUEST authorizer as API Gateway runs it: no identity source → 401 without invoking it; else the cached
   * answer for that Authorization header (within the TTL) or the function's simple response (`isAuthorized` false, an
   * error or anything else → 403). Undefined when the request may proceed.
   */
  private async authorizeByLambda(
    header: string | undefined,
    routeKey: string,
    rawPath: string,
  ): Promise<{ status: number; message: string } | undefined> {
    if (this.lambdaAuthorizer === undefined) throw new Error("a CUSTOM route without a Lambda authorizer");
    if (header === undefined || header === "") return { status: 401, message: "Unauthorized" };
    const cached = this.authorizerCache.get(header);
    let allowed: boolean;
    if (cached !== undefined && cached.until > Date.now()) {
      allowed = cached.allowed;
    } else {
      const outcome = await this.lambda.invoke(
        this.lambdaAuthorizer.functionArn,
        {
          version: "2.0",
          type: "REQUEST",
          routeArn: `arn:aws:execute-api:eu-west-1:123456789012:${this.apiId}/$default/${routeKey.replace(" ", "")}`,
          identitySource: [header],
          routeKey,
          rawPath,
          rawQueryString: "",
          headers: { authorization: header },
          requestContext: { apiId: this.apiId, routeKey, stage: "$default" },
        },
        "apigateway",
      );
      allowed = "result" in outcome && (outcome.result as { isAuthorized?: unknown })?.isAuthorized === true;
      if (this.lambdaAuthorizer.ttlSeconds > 0)
        this.authorizerCache.set(header, {
          allowed,
          until: Date.now() + this.lambdaAuthorizer.ttlSeconds * 1000,
        });
    }
    return allowed ? undefined : { status: 403, message: "Forbidden" };
  }

  /** The JWT authorizer: undefined when the token is refused, else its claims as API Gateway passes them. */
  private async authorize(header: string | undefined): Promise<Record<string, string> | undefined> {
    if (this.authorizer === undefined || header === undefined) return undefined;
    const token = header.replace(/^Bearer /, "");
    try {
      if (this.keys === undefined) {
        const discovery = (await httpsJson(
          `${this.authorizer.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
          this.ca,
        )) as { jwks_uri: string };
        this.keys = createLocalJWKSet((await httpsJson(discovery.jwks_uri, this.ca)) as never);
      }
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.authorizer.issuer,
        audience: [...this.authorizer.audience],
        algorithms: ["RS256", "RS384", "RS512"],
      });
      return Object.fromEntries(
        Object.entries(payload).map(([k, v]) => [k, Array.isArray(v) ? `[${v.join(" ")}]` : String(v)]),
      );
    } catch {
      return undefined;
    }
  }
}
