// Every Lambda's bundle (the stack's esbuild options) and its cold load to a ready handler: `npx tsx bench/bundles.ts`.

import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { type BuildOptions, type BuildResult, build } from "esbuild";
import { POLICY_STATE_PK } from "#infra/aws/adapters/dynamo-log-items.ts";
import { type FunctionDefinition, loadFunctions } from "#infra/aws/functions.ts";
import {
  BUNDLED_POLICY_FILE,
  ESM_BANNER,
  PARSER_WASM,
  UNBUNDLED_CREDENTIAL_PROVIDERS,
} from "#infra/cdk/constructs/gateway-function.ts";
import { writeBundledPolicy } from "#infra/cdk/parsed-policy.ts";
import { PROJECT_ROOT } from "#infra/cdk/phigate-app.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { PARSER_READY_MARK } from "#shared/sql/pg-wasm.ts";

const run = promisify(execFile);
/** The policy every bench bundle carries. */
export const BENCH_POLICY = join(PROJECT_ROOT, "policy/demo.yaml");

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;

/** Every variable any function reads, with placeholder values (each function validates only what it uses). */
export function benchEnvironment(
  fn: FunctionDefinition,
  policyDigest: string,
  endpoint: string,
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "AKIDBENCHBENCH",
    AWS_SECRET_ACCESS_KEY: "bench-not-a-secret",
    // Every SDK call made while composing (post-query archives its policy) goes to a local stub.
    AWS_ENDPOINT_URL: endpoint,
    AWS_LAMBDA_FUNCTION_NAME: fn.id,
    PHIGATE_FUNCTION_ID: fn.id,
    PHIGATE_SESSIONS_TABLE: "sessions",
    PHIGATE_RESULTS_BUCKET: "results",
    PHIGATE_DATA_KEY_ARN: "arn:aws:kms:eu-west-1:111111111111:key/0000",
    PHIGATE_ISSUERS: JSON.stringify([
      {
        issuer: "https://token.actions.githubusercontent.com",
        jwksUri: "https://token.actions.githubusercontent.com/.well-known/jwks",
        audience: ["phigate"],
      },
    ]),
    PHIGATE_POLICY_FILE: BUNDLED_POLICY_FILE,
    PHIGATE_POLICY_DIGEST: policyDigest,
    PHIGATE_LOG_LEVEL: "silent",
    PHIGATE_DB_CLUSTER_ARN: "arn:aws:rds:eu-west-1:111111111111:cluster:ehr",
    PHIGATE_DB_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:db",
    PHIGATE_DB_NAME: "ehr",
    PHIGATE_KEYS_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:keys",
    PHIGATE_APPROVALS_TABLE: "approvals",
    PHIGATE_STATE_MACHINE_ARN: "arn:aws:states:eu-west-1:111111111111:stateMachine:Phigate-approval",
    PHIGATE_EVIDENCE_MACHINE_ARN: "arn:aws:states:eu-west-1:111111111111:stateMachine:Phigate-evidence-build",
    PHIGATE_APPROVERS_TOPIC_ARN: "arn:aws:sns:eu-west-1:111111111111:approvers",
    PHIGATE_EVIDENCE_BUCKET: "evidence",
    PHIGATE_SIGNING_KEY_ARN: "arn:aws:kms:eu-west-1:111111111111:key/5161",
    PHIGATE_PUBLIC_URL: "https://phigate.example.org",
    PHIGATE_APPROVER_OIDC: JSON.stringify({
      issuer: "https://login.example.org",
      authorizationEndpoint: "https://login.example.org/authorize",
      tokenEndpoint: "https://login.example.org/token",
      clientId: "phigate",
    }),
  };
}

/** One cold load: ms from the start of the import to an exported handler, and to a ready parser when asked. */
export interface ColdLoad {
  readonly handlerMs: number;
  /** Until the parser is ready (its WASM compiled and instantiated; the first analysis waits for it); NaN when not asked. */
  readonly parserReadyMs: number;
  /** CPU time of the whole process (every thread) from the start of the import to the handler, ms. */
  readonly handlerCpuMs: number;
}

/**
 * Imports the bundle in a fresh Node process and times it to an exported handler; with `parser`, also to the
 * parser's ready mark (its WASM compiles during composition and the first analysis awaits it, so a load that
 * exports the handler before the parser is ready has moved that cost to the first request, not cut it).
 */
export async function coldLoad(dir: string, env: NodeJS.ProcessEnv, parser = false): Promise<ColdLoad> {
  const script = [
    "const t = performance.now(); const cpu = process.cpuUsage();",
    parser
      ? // A function that does not load its parser while starting never sets the mark: NaN once nothing is left to run.
        `const ready = new Promise((resolve) => { new PerformanceObserver((list, observer) => { const mark = list.getEntriesByName(${JSON.stringify(PARSER_READY_MARK)})[0]; if (mark) { observer.disconnect(); resolve(mark.startTime); } }).observe({ type: "mark" }); process.once("beforeExit", () => resolve(Number.NaN)); });`
      : "const ready = Promise.resolve(Number.NaN);",
    `const m = await import(${JSON.stringify(join(dir, "index.mjs"))});`,
    "const handler = performance.now() - t; const used = process.cpuUsage(cpu);",
    "if (typeof m.handler !== 'function') throw new Error('no handler');",
    "const parserReady = (await ready) - t;",
    "process.stdout.write(JSON.stringify([handler, parserReady, (used.user + used.system) / 1000]));",
  ].join(" ");
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...env, LAMBDA_TASK_ROOT: dir },
    cwd: dir,
  });
  const [handlerMs, parserReadyMs, handlerCpuMs] = JSON.parse(stdout) as [number, number | null, number];
  return { handlerMs, parserReadyMs: parserReadyMs ?? Number.NaN, handlerCpuMs };
}

/** One Lambda bundle's figures. */
export interface BundleFigures {
  /** The function id (a route id for the API's functions). */
  readonly route: string;
  readonly bundleBytes: number;
  /** The parser's WASM shipped beside the bundle (0 when the function does not parse SQL). */
  readonly wasmBytes: number;
  readonly buildMs: number;
  /**
   * Median time for a fresh `node` to import the bundle until its handler is exported: every module evaluated and
   * the composition root run (environment, bundled policy, clients; post-query's policy archive put goes to a local
   * stub). Node's own start-up is not included.
   */
  readonly coldLoadMs: number;
  /** Every cold load measured, milliseconds, sorted. */
  readonly coldLoadsMs: readonly number[];
  /**
   * Median time from the start of the import until the parser is ready (the first analysis waits for it; its WASM
   * loads during composition); absent for functions that do not parse SQL.
   */
  readonly parserReadyMs?: number;
  /** Every parser-ready time measured, milliseconds, sorted (absent without a parser). */
  readonly parserReadyRunsMs?: readonly number[];
  /** The packages contributing most to the bundle, bytes each. */
  readonly top: readonly (readonly [string, number])[];
}

/** Builds one function's bundle into `dir` with the stack's esbuild options, its policy and WASM beside it. */
export async function bundleFunction(
  fn: FunctionDefinition,
  dir: string,
  overrides: Partial<BuildOptions> = {},
): Promise<BuildResult<{ metafile: true }>> {
  const result = await build({
    entryPoints: [join(PROJECT_ROOT, fn.entry)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    mainFields: ["module", "main"],
    minify: true,
    banner: { js: ESM_BANNER },
    external: [...UNBUNDLED_CREDENTIAL_PROVIDERS],
    outfile: join(dir, "index.mjs"),
    logLevel: "silent",
    ...overrides,
    metafile: true,
  });
  writeBundledPolicy(BENCH_POLICY, dir);
  if (fn.needsParser) copyFileSync(join(PROJECT_ROOT, PARSER_WASM), join(dir, "libpg-query.wasm"));
  return result;
}

/** How the AWS stand-in answers. */
export interface AwsStubOptions {
  /** Delay before each answer, to see what a start waits on when its calls cross a real network. */
  readonly latencyMs?: number;
  /**
   * The policy the chain already records, as after a function's first start under it: the policy-state read answers
   * with it, so a start makes only the calls a later container makes. Without it every start is a first deploy.
   */
  readonly recorded?: { readonly name: string; readonly digest: string };
}

/** A local stand-in for every AWS endpoint a function calls while composing; close it when done. */
export async function startAwsStub(
  options: AwsStubOptions = {},
): Promise<{ readonly endpoint: string; close(): void }> {
  // Functions that serve the log read the signing key's public half at start: the stub answers with a fresh one.
  const signingKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({
    type: "spki",
    format: "der",
  });
  const { recorded } = options;
  const answerTo = (target: string | string[] | undefined, body: string): string => {
    if (target === "TrentService.GetPublicKey")
      return JSON.stringify({
        KeyId: "bench",
        KeySpec: "ECC_NIST_P256",
        KeyUsage: "SIGN_VERIFY",
        SigningAlgorithms: ["ECDSA_SHA_256"],
        PublicKey: signingKey.toString("base64"),
      });
    if (
      recorded !== undefined &&
      target === "DynamoDB_20120810.GetItem" &&
      (JSON.parse(body) as { Key?: { pk?: { S?: string } } }).Key?.pk?.S === POLICY_STATE_PK
    )
      return JSON.stringify({
        Item: {
          pk: { S: POLICY_STATE_PK },
          sk: { N: "0" },
          policyName: { S: recorded.name },
          policyDigest: { S: recorded.digest },
          changes: { N: "1" },
        },
      });
    return "{}";
  };
  const stub = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = answerTo(request.headers["x-amz-target"], Buffer.concat(chunks).toString("utf8"));
      setTimeout(() => {
        response.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        response.end(body);
      }, options.latencyMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  return { endpoint, close: () => stub.close() };
}

/** Builds every function's bundle as the stack does and measures its size and cold load. */
export async function benchBundles(coldRuns = 5): Promise<BundleFigures[]> {
  const stub = await startAwsStub();
  const { endpoint } = stub;
  const policyDigest = sha256Hex(readFileSync(BENCH_POLICY, "utf8"));
  const out = mkdtempSync(join(tmpdir(), "phigate-bundles-"));
  const figures: BundleFigures[] = [];
  try {
    for (const fn of await loadFunctions()) {
      const dir = join(out, fn.id);
      const started = performance.now();
      const result = await bundleFunction(fn, dir);
      const buildMs = Math.round(performance.now() - started);
      const loads: number[] = [];
      const ready: number[] = [];
      for (let i = 0; i < coldRuns; i++) {
        const load = await coldLoad(dir, benchEnvironment(fn, policyDigest, endpoint), fn.needsParser);
        loads.push(load.handlerMs);
        ready.push(load.parserReadyMs);
      }
      loads.sort((a, b) => a - b);
      ready.sort((a, b) => a - b);
      const median = (sorted: readonly number[]) =>
        Math.round((sorted[Math.floor(sorted.length / 2)] ?? Number.NaN) * 10) / 10;
      const inputs = Object.entries(
        result.metafile.outputs[Object.keys(result.metafile.outputs)[0] ?? ""]?.inputs ?? {},
      );
      const byPackage = new Map<string, number>();
      for (const [path, { bytesInOutput }] of inputs) {
        const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? "(phigate)";
        byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
      }
      figures.push({
        route: fn.id,
        bundleBytes: statSync(join(dir, "index.mjs")).size,
        wasmBytes: fn.needsParser ? statSync(join(dir, "libpg-query.wasm")).size : 0,
        buildMs,
        coldLoadMs: median(loads),
        coldLoadsMs: loads.map((ms) => Math.round(ms * 10) / 10),
        // A function whose start only compiles the WASM (its first instance at first use) has no ready mark.
        ...(fn.needsParser && ready.every(Number.isFinite)
          ? { parserReadyMs: median(ready), parserReadyRunsMs: ready.map((ms) => Math.round(ms * 10) / 10) }
          : {}),
        top: [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 6),
      });
    }
  } finally {
    stub.close();
    rmSync(out, { recursive: true, force: true });
  }
  return figures;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const f of await benchBundles()) {
    const top = f.top
      .slice(0, 4)
      .map(([name, bytes]) => `${name} ${kib(bytes)}`)
      .join(", ");
    console.log(
      `${f.route.padEnd(24)} ${kib(f.bundleBytes).padStart(9)}${f.wasmBytes > 0 ? ` + wasm ${kib(f.wasmBytes)}` : "".padEnd(16)}  ` +
        `cold load ${String(f.coldLoadMs).padStart(5)} ms (median)` +
        `${f.parserReadyMs === undefined ? "".padEnd(24) : `, parser ready ${String(f.parserReadyMs).padStart(5)} ms`}  [${top}]`,
    );
  }
}
