// The functions' bundles, built as `npm run synth` builds them (NodejsFunction's esbuild options), in one esbuild call.

import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import type { FunctionDefinition } from "#infra/aws/functions.ts";
import {
  ESM_BANNER,
  PARSER_WASM,
  UNBUNDLED_CREDENTIAL_PROVIDERS,
} from "#infra/cdk/constructs/gateway-function.ts";
import { writeBundledPolicy } from "#infra/cdk/parsed-policy.ts";

/** What bundling reads of a function (a gateway function's definition, or the reader role's custom resource). */
export type BundledFunction = Pick<FunctionDefinition, "id" | "entry" | "needsParser">;

/**
 * Bundles every function into `<outDir>/<id>/index.mjs` with the options `GatewayFunction` gives NodejsFunction
 * (ESM, platform node, target node24, main fields module/main, minified, the ESM banner, the SDK bundled but for the
 * credential providers Lambda never reaches), then puts the policy and its parsed copy and, for functions that parse
 * SQL, the parser's WASM beside each bundle, as its afterBundling hook does.
 */
export async function bundleFunctions(
  definitions: readonly BundledFunction[],
  projectRoot: string,
  policyPath: string,
  outDir: string,
): Promise<Map<string, string>> {
  await build({
    entryPoints: definitions.map((d) => ({ in: join(projectRoot, d.entry), out: `${d.id}/index` })),
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    mainFields: ["module", "main"],
    minify: true,
    sourcemap: false,
    banner: { js: ESM_BANNER },
    external: [...UNBUNDLED_CREDENTIAL_PROVIDERS],
    logLevel: "error",
  });
  const dirs = new Map<string, string>();
  for (const d of definitions) {
    const dir = join(outDir, d.id);
    await mkdir(dir, { recursive: true });
    writeBundledPolicy(policyPath, dir);
    if (d.needsParser) await copyFile(join(projectRoot, PARSER_WASM), join(dir, "libpg-query.wasm"));
    dirs.set(d.id, dir);
  }
  return dirs;
}
