// The documented layers (docs/design.md, "Layers"): which layer a file belongs to, and which imports point up.
import type { ImportEdge } from "./import-graph.ts";

/**
 * The layers from the bottom up, each a list of path prefixes (a folder ends with `/`). A file may import its
 * own layer and the layers below it, never one above. `shared/` is the core; the hosts and the apps sit on it.
 */
export const LAYERS: readonly (readonly [name: string, prefixes: readonly string[]])[] = [
  [
    "kernel",
    [
      "shared/errors.ts",
      "shared/ids.ts",
      "shared/log.ts",
      "shared/version.ts",
      "shared/json-setting.ts",
      "shared/serialized-json.ts",
      "shared/capabilities.ts",
      "shared/crypto/",
      "package.json",
    ],
  ],
  ["sql and identity", ["shared/sql/", "shared/identity/"]],
  ["masking and the page kit", ["shared/masking/", "shared/web/"]],
  ["policy", ["shared/policy/"]],
  ["sessions", ["shared/sessions/"]],
  ["transparency log", ["shared/log/"]],
  ["approval", ["shared/approval/"]],
  ["use cases", ["shared/query/", "shared/evidence/"]],
  [
    "entry points",
    ["shared/http/", "shared/jobs/", "shared/gateway-client/", "shared/mcp/", "docs/openapi.json"],
  ],
  ["tools", ["tools/"]],
  ["hosts", ["infra/local/", "infra/aws/"]],
  ["apps", ["infra/cdk/", "functions/", "cli/", "bench/", "packages/", "test/"]],
];

/**
 * The core's ports: every layer may import it, and it names the records of any core layer (types only), so the
 * hosts implement one list of interfaces.
 */
export const PORTS = "shared/ports.ts";

/** Folders of one layer that must not import each other (the two hosts share only the core). */
export const APART: readonly (readonly [string, string])[] = [["infra/local/", "infra/aws/"]];

/** The layer index of a path (0 is the bottom), or undefined when no layer lists it. */
export function layerOf(path: string, layers = LAYERS): number | undefined {
  let best: { index: number; length: number } | undefined;
  layers.forEach(([, prefixes], index) => {
    for (const prefix of prefixes) {
      const hit = prefix.endsWith("/") ? path.startsWith(prefix) : path === prefix;
      if (hit && (best === undefined || prefix.length > best.length)) best = { index, length: prefix.length };
    }
  });
  return best?.index;
}

/** Why an import breaks the layering, or null when it does not. */
export function violation(edge: ImportEdge, layers = LAYERS, apart = APART): string | null {
  if (edge.to === PORTS) return null;
  if (edge.from === PORTS) {
    if (!edge.typeOnly) return "ports.ts imports a value";
    const to = layerOf(edge.to, layers);
    const coreTop = layers.findIndex(([name]) => name === "entry points");
    return to !== undefined && to <= coreTop ? null : "ports.ts names a non-core file";
  }
  const from = layerOf(edge.from, layers);
  const to = layerOf(edge.to, layers);
  if (from === undefined || to === undefined) return "a file in no layer";
  if (to > from) return `up from ${layers[from]?.[0]} to ${layers[to]?.[0]}`;
  for (const [a, b] of apart) {
    if (
      (edge.from.startsWith(a) && edge.to.startsWith(b)) ||
      (edge.from.startsWith(b) && edge.to.startsWith(a))
    )
      return `between ${a} and ${b}`;
  }
  return null;
}

/** The module of a file: its folder under shared/ or infra/ (a file at shared/'s top is its own), else its top folder. */
export function moduleOf(path: string): string {
  const parts = path.split("/");
  if ((parts[0] === "shared" || parts[0] === "infra") && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  if (parts[0] === "shared" || parts[0] === "infra") return path;
  return parts[0] ?? path;
}
