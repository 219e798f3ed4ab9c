// The route table: every route declared under shared/http/handlers/ (one module each), matched by method and path.

import { readdir } from "node:fs/promises";
import { basename } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ConfigurationError } from "#shared/errors.ts";
import { isRouteDeclaration, type RouteDeclaration, routeMethods } from "#shared/http/route.ts";

/** Where the gateway's routes are declared. */
export const ROUTES_DIRECTORY = new URL("./handlers/", import.meta.url);

/** A route matched against a request path, with its path parameters. */
export interface MatchedRoute {
  readonly route: RouteDeclaration;
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

/** The routes of a host, in id order, with their compiled paths. */
export class RouteTable {
  private readonly compiled: readonly { route: RouteDeclaration; regex: RegExp; names: string[] }[];

  constructor(readonly routes: readonly RouteDeclaration[]) {
    const ids = new Set<string>();
    const keys = new Set<string>();
    for (const route of routes) {
      if (ids.has(route.id)) throw new ConfigurationError(`route ${route.id} is declared twice`);
      ids.add(route.id);
      for (const method of new Set(routeMethods(route))) {
        const key = `${method} ${route.path}`;
        if (keys.has(key)) throw new ConfigurationError(`route ${route.id} (${key}) is declared twice`);
        keys.add(key);
      }
    }
    this.compiled = routes.map((route) => ({ route, ...compile(route.path) }));
  }

  /**
   * Finds the route for a method and path. Returns `undefined` when no path matches and `"method_not_allowed"`
   * when the path exists with other methods.
   */
  match(method: string, path: string): MatchedRoute | "method_not_allowed" | undefined {
    let pathMatched = false;
    for (const { route, regex, names } of this.compiled) {
      const match = regex.exec(path);
      if (match === null) continue;
      pathMatched = true;
      if (!(routeMethods(route) as readonly string[]).includes(method)) continue;
      const pathParameters: Record<string, string> = {};
      names.forEach((name, i) => {
        pathParameters[name] = decodeURIComponent(match[i + 1] ?? "");
      });
      return { route, pathParameters };
    }
    return pathMatched ? "method_not_allowed" : undefined;
  }
}

/**
 * Reads the route declared by every module of the given folders (default: the gateway's own). A module exports one
 * route as `route`, named after its file; anything else there is a configuration error, so a route cannot be half
 * declared.
 */
export async function loadRouteTable(directories: readonly URL[] = [ROUTES_DIRECTORY]): Promise<RouteTable> {
  const routes: RouteDeclaration[] = [];
  for (const directory of directories) {
    const files = (await readdir(fileURLToPath(directory)))
      .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
      .sort();
    for (const file of files) {
      const url = pathToFileURL(fileURLToPath(new URL(file, directory)));
      const module: { route?: unknown } = await import(url.href);
      const id = basename(file, ".ts");
      if (!isRouteDeclaration(module.route)) {
        throw new ConfigurationError(`${file} does not export a route declaration as \`route\``);
      }
      if (module.route.id !== id) {
        throw new ConfigurationError(
          `${file} declares the route ${module.route.id}; its file must be ${module.route.id}.ts`,
        );
      }
      routes.push(module.route);
    }
  }
  return new RouteTable(routes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
}
