// Bundles the client's commands (cli/client-main.ts) with everything they import into one file without dependencies.

import { chmod } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");

/** Packages the client must never contain: the server's cloud SDKs, the embedded database, the parser, CDK. */
export const SERVER_ONLY = [
  "@aws-sdk/",
  "@smithy/",
  "@aws-lambda-powertools/",
  "@electric-sql/pglite",
  "aws-cdk-lib",
  "libpg-query",
  "aws-jwt-verify",
];

/** The built file and what went into it. */
export interface ClientBuild {
  readonly outfile: string;
  readonly bytes: number;
  /** Every input file (relative to the repository root). */
  readonly inputs: readonly string[];
}

/** Builds `dist/phigate.mjs` (or `outfile`); throws when a server-only package found its way in. */
export async function buildClient(outfile = resolve(HERE, "dist/phigate.mjs")): Promise<ClientBuild> {
  const result = await build({
    entryPoints: [resolve(ROOT, "cli/client-main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    keepNames: true,
    legalComments: "eof",
    metafile: true,
    logLevel: "warning",
    // CommonJS dependencies (pg-protocol, ajv) call require(); give the ES module bundle one.
    banner: {
      js: "#!/usr/bin/env node\nimport{createRequire as __phigateRequire}from'node:module';const require=__phigateRequire(import.meta.url);",
    },
  });
  const metafile: Metafile = result.metafile;
  const inputs = Object.keys(metafile.inputs).map((p) => relative(ROOT, resolve(ROOT, p)));
  const leaked = inputs.filter((p) => SERVER_ONLY.some((name) => p.includes(`node_modules/${name}`)));
  if (leaked.length > 0)
    throw new Error(`the client bundle contains server-only code: ${leaked.slice(0, 5).join(", ")}`);
  await chmod(outfile, 0o755);
  const output = Object.values(metafile.outputs)[0];
  return { outfile, bytes: output?.bytes ?? 0, inputs };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildClient();
  process.stdout.write(`${relative(process.cwd(), built.outfile)}: ${(built.bytes / 1024).toFixed(0)} KiB\n`);
}
