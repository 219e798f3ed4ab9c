// What a Lambda's cold load spends, per module: `npx tsx bench/support/cold-init.ts <function-id…> [--runs N] [--top N] [--profile]`,
// or `--loads` for every function's plain cold load (median and spread).

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import type { Plugin } from "esbuild";
import { type FunctionDefinition, loadFunctions } from "#infra/aws/functions.ts";
import { PROJECT_ROOT } from "#infra/cdk/phigate-app.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { BENCH_POLICY, benchEnvironment, bundleFunction, coldLoad, startAwsStub } from "../bundles.ts";
import { median, round } from "./stats.ts";

const run = promisify(execFile);

/** A package name for files under node_modules, else the path from the repository root. */
function moduleName(path: string): string {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? relative(PROJECT_ROOT, path);
}

/** A file's contents between two marks, after any hashbang and directive prologue (so `"use strict"` stays one). */
function marked(path: string, contents: string): string {
  const prologue =
    /^(#![^\n]*\n)?(\s*(?:\/\/[^\n]*\n|\/\*[\s\S]*?\*\/|(["'])use strict\3;?)\s*)*/.exec(contents)?.[0] ?? "";
  const id = JSON.stringify(path);
  return `${prologue}globalThis.__coldMark?.(0, ${id});\n${contents.slice(prologue.length)}\n;globalThis.__coldMark?.(1, ${id});\n`;
}

/** Marks the start and end of every module's top-level code, so the cold load can be split by module. */
const markModules: Plugin = {
  name: "cold-init-marks",
  setup(build) {
    build.onLoad({ filter: /\.(?:[cm]?js|ts)$/ }, (args) => {
      const contents = readFileSync(args.path, "utf8");
      return { contents: marked(args.path, contents), loader: args.path.endsWith(".ts") ? "ts" : "js" };
    });
  },
};

/** Self and total evaluation time (ms) of each module's top-level code, from the marks of one load. */
function evaluationTimes(marks: readonly (readonly [0 | 1, string, number])[]): Map<string, number> {
  const self = new Map<string, number>();
  const stack: { path: string; start: number; children: number }[] = [];
  for (const [kind, path, at] of marks) {
    if (kind === 0) {
      stack.push({ path, start: at, children: 0 });
      continue;
    }
    const open = stack.pop();
    if (open === undefined || open.path !== path) throw new Error(`unbalanced module marks at ${path}`);
    const total = at - open.start;
    const parent = stack.at(-1);
    if (parent !== undefined) parent.children += total;
    self.set(path, (self.get(path) ?? 0) + total - open.children);
  }
  return self;
}

/** One marked cold load: ms to the handler, module evaluation per module, and the composition after it. */
async function markedLoad(
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ load: number; modules: Map<string, number>; composition: number; parse: number }> {
  const script = [
    "const marks = []; globalThis.__coldMark = (kind, path) => marks.push([kind, path, performance.now()]);",
    "const t = performance.now();",
    `const m = await import(${JSON.stringify(join(dir, "index.mjs"))});`,
    "const end = performance.now();",
    "if (typeof m.handler !== 'function') throw new Error('no handler');",
    "process.stdout.write(JSON.stringify({ t, end, marks }));",
  ].join(" ");
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...env, LAMBDA_TASK_ROOT: dir },
    cwd: dir,
    maxBuffer: 64 * 1024 * 1024,
  });
  const { t, end, marks } = JSON.parse(stdout) as {
    t: number;
    end: number;
    marks: [0 | 1, string, number][];
  };
  const entryEnd = marks.at(-1)?.[2] ?? end;
  // The entry's own body runs last: its top-level await is the composition root, timed apart from the modules.
  const entryStart = marks.findLast((mark) => mark[1] === marks.at(-1)?.[1] && mark[0] === 0)?.[2] ?? end;
  const modules = evaluationTimes(marks);
  const entry = marks.at(-1)?.[1];
  if (entry !== undefined) modules.delete(entry);
  return { load: end - t, modules, composition: entryEnd - entryStart, parse: (marks[0]?.[2] ?? end) - t };
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
  readonly positionTicks?: readonly { readonly line: number; readonly ticks: number }[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Maps a line (0-based) of the profiled bundle to the module it came from. */
function bundleAttribution(dir: string): (line: number) => string {
  const code = readFileSync(join(dir, "index.mjs"), "utf8").split("\n");
  const map = new SourceMap(JSON.parse(readFileSync(join(dir, "index.mjs.map"), "utf8")) as SourceMapPayload);
  const cache = new Map<number, string>();
  return (line) => {
    const seen = cache.get(line);
    if (seen !== undefined) return seen;
    // Line ticks carry no column: the line's first token stands for it (the profiled build keeps one statement a line).
    const column = Math.max(0, (code[line] ?? "").search(/\S/));
    const source = (map.findEntry(line, column) as { originalSource?: string }).originalSource ?? "";
    const name =
      source === ""
        ? "(bundle runtime)"
        : moduleName(source.startsWith("file://") ? new URL(source).pathname : join(dir, source));
    cache.set(line, name);
    return name;
  };
}

/** Self time (ms) per module and per category of one CPU profile of the cold load. */
function selfTimes(
  profile: CpuProfile,
  bundleUrl: string,
  attribute: (line: number) => string,
): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const nodeMs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] ?? 0;
    nodeMs.set(id, (nodeMs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  }
  const times = new Map<string, number>();
  const add = (name: string, ms: number) => times.set(name, (times.get(name) ?? 0) + ms);
  for (const [id, ms] of nodeMs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (url === bundleUrl) {
      const ticks = node.positionTicks ?? [];
      const total = ticks.reduce((sum, t) => sum + t.ticks, 0);
      if (total === 0) add(attribute(lineNumber), ms);
      else for (const t of ticks) add(attribute(t.line - 1), (ms * t.ticks) / total);
    } else if (url === "" && functionName.startsWith("(")) add(functionName, ms);
    else if (functionName === "compileSourceTextModule") add("(compiling the bundle's source)", ms);
    else if (url === "" || url.startsWith("wasm://")) add("(WebAssembly and natives)", ms);
    else if (url.startsWith("node:")) add("(node internals)", ms);
    else add("(other)", ms);
  }
  return times;
}

/** CPU profiles of `runs` cold loads of a build made for profiling (lines kept, names minified, a source map). */
async function profiledLoads(
  fn: FunctionDefinition,
  dir: string,
  env: NodeJS.ProcessEnv,
  runs: number,
): Promise<Map<string, number[]>> {
  await bundleFunction(fn, dir, {
    minify: false,
    minifyIdentifiers: true,
    minifySyntax: true,
    sourcemap: "external",
  });
  const attribute = bundleAttribution(dir);
  const bundleUrl = new URL(`file://${join(dir, "index.mjs")}`).href;
  const script = `const m = await import(${JSON.stringify(join(dir, "index.mjs"))}); if (typeof m.handler !== 'function') throw new Error('no handler');`;
  const times = new Map<string, number[]>();
  for (let i = 0; i < runs; i++) {
    const profiles = join(dir, `profiles-${i}`);
    mkdirSync(profiles);
    await run(
      process.execPath,
      [
        "--cpu-prof",
        "--cpu-prof-interval",
        "250",
        "--cpu-prof-dir",
        profiles,
        "--input-type=module",
        "-e",
        script,
      ],
      { env: { ...env, LAMBDA_TASK_ROOT: dir }, cwd: dir },
    );
    const file = readdirSync(profiles).find((name) => name.endsWith(".cpuprofile"));
    if (file === undefined) throw new Error("no CPU profile written");
    const profile = JSON.parse(readFileSync(join(profiles, file), "utf8")) as CpuProfile;
    for (const [name, ms] of selfTimes(profile, bundleUrl, attribute))
      times.set(name, [...(times.get(name) ?? []), ms]);
  }
  return times;
}

const spread = (values: readonly number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${round(median(sorted), 1)} ms (${round(sorted[0] ?? Number.NaN, 1)}–${round(sorted.at(-1) ?? Number.NaN, 1)})`;
};

/** Each key's values over `runs` (absent means 0), largest median first. */
function ranked(byRun: readonly Map<string, number>[]): [string, number[]][] {
  const keys = new Set(byRun.flatMap((times) => [...times.keys()]));
  return [...keys]
    .map((key): [string, number[]] => [key, byRun.map((times) => times.get(key) ?? 0)])
    .sort((a, b) => median(b[1]) - median(a[1]));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number): number => {
    const at = args.indexOf(name);
    return at < 0 ? fallback : Number(args.splice(at, 2)[1]);
  };
  const runs = option("--runs", 5);
  const top = option("--top", 20);
  const loadsOnly = args.includes("--loads");
  const ids = args.filter((arg) => !arg.startsWith("--"));
  const all = await loadFunctions();
  const chosen = loadsOnly && ids.length === 0 ? all : all.filter((fn) => ids.includes(fn.id));
  if (chosen.length === 0) throw new Error(`no such function: ${ids.join(", ")}`);
  const stub = await startAwsStub();
  const policyDigest = sha256Hex(readFileSync(BENCH_POLICY, "utf8"));
  const out = mkdtempSync(join(tmpdir(), "phigate-cold-init-"));
  try {
    for (const fn of chosen) {
      const env = benchEnvironment(fn, policyDigest, stub.endpoint);
      const dir = join(out, fn.id);
      await bundleFunction(fn, dir);
      const shipped = statSync(join(dir, "index.mjs")).size;
      const loads = [];
      for (let i = 0; i < runs; i++) loads.push(await coldLoad(dir, env, fn.needsParser));
      console.log(
        `${fn.id.padEnd(24)} cold load ${spread(loads.map((l) => l.handlerMs))}` +
          `${fn.needsParser ? `, parser ready ${spread(loads.map((l) => l.parserReadyMs))}` : ""}, median (min–max) of ${runs}`,
      );
      if (loadsOnly) continue;
      const markedDir = join(out, `${fn.id}-marked`);
      await bundleFunction(fn, markedDir, { plugins: [markModules] });
      const size = (statSync(join(markedDir, "index.mjs")).size - shipped) / 1024;
      const measured = [];
      for (let i = 0; i < runs; i++) measured.push(await markedLoad(markedDir, env));
      console.log(`  with module marks (+${round(size, 0)} KiB): ${spread(measured.map((m) => m.load))}`);
      console.log(
        `    before the first module runs (read, compile, link): ${spread(measured.map((m) => m.parse))}`,
      );
      const evaluation = measured.map((m) => [...m.modules.values()].reduce((sum, ms) => sum + ms, 0));
      console.log(`    module evaluation, all modules: ${spread(evaluation)}`);
      console.log(
        `    composition (the entry's top-level await): ${spread(measured.map((m) => m.composition))}`,
      );
      const byPackage = measured.map(({ modules }) => {
        const sums = new Map<string, number>();
        for (const [path, ms] of modules) sums.set(moduleName(path), (sums.get(moduleName(path)) ?? 0) + ms);
        return sums;
      });
      console.log("  module evaluation by package or file, self time:");
      for (const [name, times] of ranked(byPackage).slice(0, top))
        console.log(`    ${name.padEnd(56)} ${spread(times)}`);
      if (!args.includes("--profile")) continue;
      const profiled = await profiledLoads(fn, join(out, `${fn.id}-profiled`), env, runs);
      console.log("  CPU profile of the whole load, self time (the profiler slows everything):");
      const rows = ranked(
        [...Array(runs).keys()].map((i) => new Map([...profiled].map(([k, v]) => [k, v[i] ?? 0]))),
      );
      for (const [name, times] of rows.slice(0, top)) console.log(`    ${name.padEnd(56)} ${spread(times)}`);
    }
  } finally {
    stub.close();
    rmSync(out, { recursive: true, force: true });
  }
}

await main();
