// Cold loads of prebuilt Lambda bundles, alternated run by run so a busy moment hits every variant:
// `npx tsx bench/support/cold-ab.ts build <function-id> <dir>` builds this tree's bundle into <dir> (run it in each
// checkout to compare), then `npx tsx bench/support/cold-ab.ts run <function-id> <runs> <dir>…` prints each one's
// handler and parser-ready times and the process CPU time to each (median and min–max). `COLD_AB_LATENCY_MS` delays
// every answer of the AWS stand-in, as a network would; `COLD_AB_RECORDED=1` makes each start a later container's
// (the chain already records the bench policy), not a first deploy.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadFunctions } from "#infra/aws/functions.ts";
import { sha256Hex } from "#shared/crypto/digest.ts";
import { loadPolicyFile } from "#shared/policy/load.ts";
import { BENCH_POLICY, benchEnvironment, bundleFunction, coldLoad, startAwsStub } from "../bundles.ts";
import { median, round } from "./stats.ts";

const spread = (values: readonly number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${round(median(sorted), 1)} (${round(sorted[0] ?? Number.NaN, 1)}–${round(sorted.at(-1) ?? Number.NaN, 1)})`;
};

async function main(): Promise<void> {
  const [command, id, ...rest] = process.argv.slice(2);
  const fn = (await loadFunctions()).find((f) => f.id === id);
  if (fn === undefined) throw new Error(`no such function: ${id ?? "(none)"}`);
  if (command === "build") {
    const [dir] = rest;
    if (dir === undefined) throw new Error("build <function-id> <dir>");
    await bundleFunction(fn, resolve(dir));
    return;
  }
  if (command !== "run")
    throw new Error("usage: build <function-id> <dir> | run <function-id> <runs> <dir>…");
  const runs = Math.max(1, Number(rest[0]));
  const dirs = rest.slice(1).map((dir) => resolve(dir));
  const policyDigest = sha256Hex(readFileSync(BENCH_POLICY, "utf8"));
  const stub = await startAwsStub({
    latencyMs: Number(process.env.COLD_AB_LATENCY_MS ?? 0),
    ...(process.env.COLD_AB_RECORDED === "1"
      ? { recorded: { name: (await loadPolicyFile(BENCH_POLICY)).document.name, digest: policyDigest } }
      : {}),
  });
  const env = benchEnvironment(fn, policyDigest, stub.endpoint);
  const figures = dirs.map(() => ({ handler: [] as number[], ready: [] as number[], cpu: [] as number[] }));
  try {
    for (let i = 0; i < runs; i++) {
      // Alternate the order too, so neither variant always runs right after the other.
      const order = i % 2 === 0 ? [...dirs.keys()] : [...dirs.keys()].reverse();
      for (const at of order) {
        const load = await coldLoad(dirs[at] ?? "", env, fn.needsParser);
        figures[at]?.handler.push(load.handlerMs);
        figures[at]?.ready.push(load.parserReadyMs);
        figures[at]?.cpu.push(load.handlerCpuMs);
      }
    }
  } finally {
    stub.close();
  }
  for (const [at, dir] of dirs.entries()) {
    const f = figures[at];
    if (f === undefined) continue;
    console.log(
      `${dir}: handler ${spread(f.handler)} ms${fn.needsParser ? `, parser ready ${spread(f.ready)} ms` : ""}, ` +
        `CPU to the handler ${spread(f.cpu)} ms (${runs} runs)`,
    );
  }
}

await main();
