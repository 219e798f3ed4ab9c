// The repository's import graph (static, re-export and literal dynamic imports) and its loops, for the layering test.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** One import: the importing file, the imported file (repository-relative paths) and whether only types cross. */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

const SOURCE = /\.(ts|mts|mjs)$/;
const SKIPPED = new Set(["node_modules", "dist", "cdk.out"]);
const IMPORT =
  /(?:^|[^.\w$])(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;

function sourceFiles(dir: string, out: string[]): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (SOURCE.test(entry.name)) out.push(path);
  }
  return out;
}

/** Source text without comments (an import named in a comment is not an import). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/**
 * Every import between the repository's own files under `folders` of `root`: `#folder/...` subpath imports and
 * relative ones (packages are not followed).
 */
export function importGraph(root: string, folders: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const folder of folders) {
    for (const file of sourceFiles(join(root, folder), [])) {
      for (const m of code(readFileSync(file, "utf8")).matchAll(IMPORT)) {
        const spec = m[2] ?? m[3] ?? "";
        let target: string;
        if (spec.startsWith("#")) target = join(root, spec.slice(1));
        else if (spec.startsWith(".")) target = resolve(dirname(file), spec);
        else continue;
        edges.push({ from: relative(root, file), to: relative(root, target), typeOnly: m[1] !== undefined });
      }
    }
  }
  return edges;
}

/** Every package a file under `folders` of `root` imports (bare specifiers): `{ from, spec }`. */
export function packageImports(root: string, folders: readonly string[]): { from: string; spec: string }[] {
  const found: { from: string; spec: string }[] = [];
  for (const folder of folders) {
    for (const file of sourceFiles(join(root, folder), [])) {
      for (const m of code(readFileSync(file, "utf8")).matchAll(IMPORT)) {
        const spec = m[2] ?? m[3] ?? "";
        if (!spec.startsWith("#") && !spec.startsWith(".")) found.push({ from: relative(root, file), spec });
      }
    }
  }
  return found;
}

/** The loops of a graph: its strongly connected components of more than one node, each sorted (Tarjan). */
export function loops(edges: readonly { from: string; to: string }[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (from === to) continue;
    next.set(from, [...(next.get(from) ?? []), to]);
    if (!next.has(to)) next.set(to, []);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return found;
}
