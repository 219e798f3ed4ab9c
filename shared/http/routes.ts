// The one route table: the local host serves it and the CDK stack turns it into API Gateway routes and Lambdas.

/** How a route authenticates its caller. */
export type RouteAuth =
  /** `Authorization: Bearer <JWT>`, verified at the edge (AWS) and again by the function (both hosts). */
  | "jwt"
  /** No token: browser pages that sign their user in themselves, or signed links. */
  | "none";

/** One HTTP route. */
export interface RouteDefinition {
  /** Stable identifier; also names the Lambda function and the handler factory. */
  readonly id: string;
  readonly method: "GET" | "POST";
  /** API Gateway path syntax (`{name}` for a path parameter). */
  readonly path: string;
  readonly auth: RouteAuth;
  /** The Lambda entry point (relative to the repository root). */
  readonly entry: string;
  /** Whether the function needs the SQL parser's WASM next to its bundle. */
  readonly needsParser: boolean;
}

/** Every API route, in the order the local host matches them. */
export const ROUTES: readonly RouteDefinition[] = [
  {
    id: "post-query",
    method: "POST",
    path: "/v1/queries",
    auth: "jwt",
    entry: "functions/post-query.ts",
    needsParser: true,
  },
  {
    id: "get-session",
    method: "GET",
    path: "/v1/sessions/{id}",
    auth: "jwt",
    entry: "functions/get-session.ts",
    needsParser: false,
  },
  {
    id: "get-session-replay",
    method: "GET",
    path: "/v1/sessions/{id}/replay",
    auth: "jwt",
    entry: "functions/get-session-replay.ts",
    needsParser: false,
  },
  {
    id: "get-session-proof",
    method: "GET",
    path: "/v1/sessions/{id}/proof",
    auth: "jwt",
    entry: "functions/get-session-proof.ts",
    needsParser: false,
  },
  {
    id: "post-evidence-bundle",
    method: "POST",
    path: "/v1/evidence-bundles",
    auth: "jwt",
    entry: "functions/post-evidence-bundle.ts",
    // The builder re-analyzes each export's SQL text for the report.
    needsParser: true,
  },
  {
    id: "post-approval-decision",
    method: "POST",
    path: "/v1/approvals/{id}/decision",
    auth: "jwt",
    entry: "functions/post-approval-decision.ts",
    needsParser: false,
  },
  {
    id: "get-approval-page",
    method: "GET",
    path: "/approvals/{id}",
    auth: "none",
    entry: "functions/get-approval-page.ts",
    // The page highlights the SQL with PostgreSQL's scanner (the same WASM).
    needsParser: true,
  },
  {
    id: "post-approval-page",
    method: "POST",
    path: "/approvals/{id}",
    auth: "none",
    entry: "functions/post-approval-page.ts",
    needsParser: false,
  },
  {
    id: "approval-sign-in",
    method: "GET",
    path: "/approvals/oidc/callback",
    auth: "none",
    entry: "functions/approval-sign-in.ts",
    needsParser: false,
  },
];

/** A route matched against a request path, with its path parameters. */
export interface MatchedRoute {
  readonly route: RouteDefinition;
  readonly pathParameters: Readonly<Record<string, string>>;
}

function compile(path: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const pattern = path
    .split("/")
    .map((segment) => {
      const param = /^\{([a-zA-Z]+)\}$/.exec(segment);
      if (param?.[1] !== undefined) {
        names.push(param[1]);
        return "([^/]+)";
      }
      return segment.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { regex: new RegExp(`^${pattern}$`), names };
}

const COMPILED = ROUTES.map((route) => ({ route, ...compile(route.path) }));

/**
 * Finds the route for a method and path. Returns `undefined` when no path matches and `"method_not_allowed"`
 * when the path exists with other methods.
 */
export function matchRoute(method: string, path: string): MatchedRoute | "method_not_allowed" | undefined {
  let pathMatched = false;
  for (const { route, regex, names } of COMPILED) {
    const match = regex.exec(path);
    if (match === null) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    const pathParameters: Record<string, string> = {};
    names.forEach((name, i) => {
      pathParameters[name] = decodeURIComponent(match[i + 1] ?? "");
    });
    return { route, pathParameters };
  }
  return pathMatched ? "method_not_allowed" : undefined;
}
