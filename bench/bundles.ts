// Bundle sizes and cold-load times of the Lambda entries, built with the stack's esbuild options: `npx tsx bench/bundles.ts`.

import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { ESM_BANNER, PARSER_WASM } from "#infra/constructs/gateway-function.ts";
import { PROJECT_ROOT } from "#infra/phigate-app.ts";
import { ROUTES } from "#shared/http/routes.ts";

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;

/** One Lambda bundle's figures. */
export interface BundleFigures {
  readonly route: string;
  readonly bundleBytes: number;
  /** The parser's WASM shipped beside the bundle (0 when the route does not parse SQL). */
  readonly wasmBytes: number;
  readonly buildMs: number;
  /**
   * Median time for a fresh `node` to import the bundle, until the composition root's environment check stops
   * it (every module evaluated; no AWS call made). Node's own start-up is not included.
   */
  readonly coldLoadMs: number;
  /** The packages contributing most to the bundle, bytes each. */
  readonly top: readonly (readonly [string, number])[];
}

const LOADER = `
const started = performance.now();
try { await import(process.argv[1]); } catch {}
process.stdout.write(String(performance.now() - started));
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function coldLoadMs(file: string, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    // The entry's environment check fails without AWS settings (by design here): only the timing is read.
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", LOADER, pathToFileURL(file).href], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "" },
      stdio: ["ignore", "pipe", "ignore"],
    });
    const ms = Number.parseFloat(run.stdout);
    if (Number.isFinite(ms)) times.push(ms);
  }
  return median(times);
}

/** Builds every route's bundle as the stack does and measures its size and cold-load time. */
export async function benchBundles(coldRuns = 5): Promise<BundleFigures[]> {
  const out = mkdtempSync(join(tmpdir(), "phigate-bundles-"));
  const figures: BundleFigures[] = [];
  try {
    for (const route of ROUTES) {
      const outfile = join(out, route.id, "index.mjs");
      const started = performance.now();
      const result = await build({
        entryPoints: [join(PROJECT_ROOT, route.entry)],
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node24",
        mainFields: ["module", "main"],
        minify: true,
        banner: { js: ESM_BANNER },
        outfile,
        metafile: true,
        logLevel: "silent",
      });
      const buildMs = Math.round(performance.now() - started);
      if (route.needsParser)
        copyFileSync(join(PROJECT_ROOT, PARSER_WASM), join(out, route.id, "libpg-query.wasm"));
      const inputs = Object.entries(
        result.metafile.outputs[Object.keys(result.metafile.outputs)[0] ?? ""]?.inputs ?? {},
      );
      const byPackage = new Map<string, number>();
      for (const [path, { bytesInOutput }] of inputs) {
        const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
        const name = match?.[1] ?? "(phigate)";
        byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
      }
      figures.push({
        route: route.id,
        bundleBytes: statSync(outfile).size,
        wasmBytes: route.needsParser ? statSync(join(PROJECT_ROOT, PARSER_WASM)).size : 0,
        buildMs,
        coldLoadMs: Math.round(coldLoadMs(outfile, coldRuns) * 10) / 10,
        top: [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 6),
      });
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return figures;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const f of await benchBundles()) {
    console.log(
      `${f.route}: index.mjs ${kib(f.bundleBytes)}${f.wasmBytes > 0 ? ` + libpg-query.wasm ${kib(f.wasmBytes)}` : ""} (built in ${f.buildMs} ms, cold load ${f.coldLoadMs} ms)`,
    );
    for (const [name, bytes] of f.top) console.log(`  ${name.padEnd(40)} ${kib(bytes)}`);
  }
}
