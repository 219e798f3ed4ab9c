// A route declared once, in its handler module: method, path, authentication, capabilities and handler factory.

import type { z } from "zod";
import type { Capabilities, EntryDeclaration } from "#shared/capabilities.ts";
import type { EvidenceJobDeps } from "#shared/evidence/evidence-jobs.ts";
import type { EvidenceDeps } from "#shared/evidence/evidence-service.ts";
import type { ApiDeps, ApiHandler, RouteAuth } from "#shared/http/api-handler.ts";
import type { WebDeps } from "#shared/http/web-deps.ts";
import type { LogDeps } from "#shared/log/log-ports.ts";
import type { QueryDeps } from "#shared/query/deps.ts";

/** Everything any route handler may need (both composition roots build it). */
export type HandlerDeps = ApiDeps & QueryDeps & WebDeps & EvidenceDeps & EvidenceJobDeps & LogDeps;

const ROUTE = Symbol.for("phigate.route");

/** The HTTP methods a route may answer. */
export type RouteMethod = "GET" | "POST" | "DELETE";

/**
 * What the API description (`GET /openapi.json`, docs/api.md) says of a route. The schemas are the very ones that
 * validate its requests, so the description cannot drift from what the route accepts.
 */
export interface RouteDocs {
  readonly summary: string;
  readonly description?: string;
  /** The body's schema and media type (`jsonBody` / `formBody`). */
  readonly body?: {
    readonly schema: z.ZodType;
    readonly mediaType: "application/json" | "application/x-www-form-urlencoded";
  };
  /** Query parameters, each with the schema its value must satisfy (they arrive as text). */
  readonly query?: Readonly<Record<string, { readonly description: string; readonly schema: z.ZodType }>>;
  /** Every answer by status, in words; `produces`: their media types (default JSON; HTML for pages). */
  readonly responses: Readonly<Record<number, string>>;
  readonly produces?: readonly ("application/json" | "text/html")[];
}

/**
 * One HTTP route. Its module under shared/http/handlers/ is named after its id and exports it as `route`; the route
 * table, the local server, the Lambda function list and IAM all read it from there, and its Lambda entry
 * (`functions/<id>.ts`) composes it.
 */
export interface RouteDeclaration<C extends Capabilities = Capabilities, D = HandlerDeps>
  extends EntryDeclaration<C> {
  /** The method, or the methods of a route that answers several on one path (one function serves them all). */
  readonly method: RouteMethod | readonly [RouteMethod, ...RouteMethod[]];
  /** Path with `{name}` segments for path parameters (API Gateway's syntax). */
  readonly path: string;
  readonly auth: RouteAuth;
  /** Its description in the API document (listed without one, by method and path only). */
  readonly docs?: RouteDocs;
  /** Builds the handler from the host's dependencies (once per process or container). */
  readonly create: (deps: D) => ApiHandler;
  readonly [ROUTE]: true;
}

/** Declares a route (the capabilities' literal types are kept: an entry must supply exactly the parts they use). */
export function defineRoute<const C extends Capabilities, D>(
  route: Omit<RouteDeclaration<C, D>, typeof ROUTE>,
): RouteDeclaration<C, D> {
  return { ...route, [ROUTE]: true };
}

/** The methods a route answers. */
export function routeMethods(route: Pick<RouteDeclaration, "method">): readonly RouteMethod[] {
  return typeof route.method === "string" ? [route.method] : route.method;
}

/** Whether a module export is a route declaration. */
export function isRouteDeclaration(value: unknown): value is RouteDeclaration {
  return typeof value === "object" && value !== null && (value as { [ROUTE]?: unknown })[ROUTE] === true;
}
