// Bundle sizes of the Lambda entries, built with the stack's esbuild options: `npx tsx bench/bundles.ts`.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { ESM_BANNER, PARSER_WASM } from "#infra/constructs/gateway-function.ts";
import { PROJECT_ROOT } from "#infra/phigate-app.ts";
import { ROUTES } from "#shared/http/routes.ts";

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;

const out = mkdtempSync(join(tmpdir(), "phigate-bundles-"));
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
    const ms = Math.round(performance.now() - started);
    const inputs = Object.entries(
      result.metafile.outputs[Object.keys(result.metafile.outputs)[0] ?? ""]?.inputs ?? {},
    );
    const byPackage = new Map<string, number>();
    for (const [path, { bytesInOutput }] of inputs) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const name = match?.[1] ?? "(phigate)";
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
    const top = [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 6);
    const wasm = route.needsParser ? statSync(join(PROJECT_ROOT, PARSER_WASM)).size : 0;
    console.log(
      `${route.id}: index.mjs ${kib(statSync(outfile).size)}${wasm > 0 ? ` + libpg-query.wasm ${kib(wasm)}` : ""} (built in ${ms} ms)`,
    );
    for (const [name, bytes] of top) console.log(`  ${name.padEnd(40)} ${kib(bytes)}`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
