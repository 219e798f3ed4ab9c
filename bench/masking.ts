// Masking throughput: a 100,000 × 12 patients-like result masked on one core, beside an unmasked baseline through the same page loop.
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { detectorConfigSchema } from "#shared/masking/detector-rules.ts";
import { compileDetectors } from "#shared/masking/detectors.ts";
import { compileMasker } from "#shared/masking/masker.ts";
import { type MaskingPlan, type MaskingPlanPolicy, planMasking } from "#shared/masking/plan.ts";
import { columnRuleSchema } from "#shared/masking/rules.ts";
import type { ColumnRule } from "#shared/masking/strategies.ts";
import type { OutputColumnLineage, ResultColumn, Row } from "#shared/sql/types.ts";
import { seededRandom } from "#test/support/seeded-random.ts";

const ROWS = 100_000;
const PAGE = 1_000;
const ROUNDS = 7;

const FIRST = "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth".split(" ");
const LAST = "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez".split(" ");
const WORDS =
  "patient reports mild intermittent pain lower back since last visit follow up in two weeks prescribed ibuprofen 400 mg twice daily no known allergies vitals stable afebrile".split(
    " ",
  );

const COLUMNS: readonly [name: string, table: string, type: string, oid: number][] = [
  ["id", "patients", "int4", 23],
  ["mrn", "patients", "text", 25],
  ["ssn", "patients", "text", 25],
  ["first_name", "patients", "text", 25],
  ["last_name", "patients", "text", 25],
  ["dob", "patients", "date", 1082],
  ["sex", "patients", "text", 25],
  ["zip", "patients", "text", 25],
  ["phone", "patients", "text", 25],
  ["email", "patients", "text", 25],
  ["city", "patients", "text", 25],
  ["notes", "encounters", "text", 25],
];

function syntheticRows(): Row[] {
  const rand = seededRandom(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const digits = (n: number): string => String(Math.floor(rand() * 10 ** n)).padStart(n, "0");
  const rows: Row[] = [];
  for (let i = 0; i < ROWS; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const phone = `${200 + Math.floor(rand() * 700)}-555-${digits(4)}`;
    let notes = "";
    for (let w = 0; w < 18; w++) notes += `${pick(WORDS)} `;
    const r = rand();
    if (r < 0.1) notes += `call back at ${phone}`;
    else if (r < 0.15) notes += `ssn on file 1${digits(2)}-4${digits(1)}-${digits(3)}7`;
    else if (r < 0.2) notes += `emailed ${first.toLowerCase()}@example.org`;
    else if (r < 0.25) notes += `seen 2024-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 10)}`;
    rows.push([
      i + 1,
      `MRN-${String(i + 1).padStart(7, "0")}`,
      `${100 + Math.floor(rand() * 500)}-${10 + Math.floor(rand() * 89)}-${1000 + Math.floor(rand() * 8999)}`,
      first,
      last,
      `19${20 + Math.floor(rand() * 80)}-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)}`,
      pick(["F", "M", "X"]),
      `${digits(5)}`,
      phone,
      `${first.toLowerCase()}.${last.toLowerCase()}${i}@example.com`,
      pick(["Springfield", "Riverton", "Lakeside"]),
      notes,
    ]);
  }
  return rows;
}

function lineage(): OutputColumnLineage[] {
  return COLUMNS.map(([column, table], position) => ({
    position,
    name: column,
    kind: "copy",
    sources: [{ schema: "public", table, column }],
    wholeRows: [],
    transforms: [],
  }));
}

const RULES: Record<string, ColumnRule> = Object.fromEntries(
  Object.entries({
    "public.patients.ssn": { strategy: "partial", keepLast: 4 },
    "public.patients.mrn": { strategy: "tokenize", prefix: "mrn" },
    "public.patients.first_name": { strategy: "tokenize", prefix: "name", normalize: ["case", "whitespace"] },
    "public.patients.last_name": { strategy: "tokenize", prefix: "name", normalize: ["case", "whitespace"] },
    "public.patients.dob": { strategy: "generalize", to: "birth_year" },
    "public.patients.zip": { strategy: "generalize", to: "zip3" },
    "public.patients.phone": { strategy: "redact" },
    "public.patients.email": { strategy: "redact" },
    "public.patients.address": { strategy: "redact" },
  }).map(([k, v]) => [k, columnRuleSchema.parse(v)]),
);

function plan(policy: MaskingPlanPolicy): MaskingPlan {
  const p = planMasking(lineage(), undefined, policy);
  if (p.decision !== "allow") throw new Error("bench plan denied");
  return p;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/**
 * Masks the synthetic result `ROUNDS` times (fresh masker, hence cold token caches, each round) and runs the
 * same rows through an all-passthrough plan in the same page loop; returns the medians as cells per second.
 */
export async function benchMasking(): Promise<{
  cellsPerSec: number;
  baselineCellsPerSec: number;
  rows: number;
  columns: number;
}> {
  const rows = syntheticRows();
  const columns: ResultColumn[] = COLUMNS.map(([name, , type, typeOid]) => ({ name, type, typeOid }));
  const detectorConfig = detectorConfigSchema.parse({
    kinds: ["ssn", "phone", "email", "mrn", "date"],
    mrnPattern: "MRN-\\d{7}",
  });
  const detectors = compileDetectors(detectorConfig);
  const kinds = detectorConfig.kinds;
  const maskedPlan = plan({
    rules: RULES,
    onTransform: "strictest",
    wholeRow: "deny",
    detectors: { columns: ["public.encounters.notes"], kinds },
  });
  const basePlan = plan({
    rules: {},
    onTransform: "strictest",
    wholeRow: "deny",
    detectors: { columns: [], kinds },
  });
  const keys = { tokenizationKey: randomBytes(32) };
  const clock = { now: () => new Date() };

  const run = (p: MaskingPlan): number => {
    const masker = compileMasker({ plan: p, columns, keys, clock, detectors });
    const start = performance.now();
    let out = 0;
    for (let i = 0; i < rows.length; i += PAGE) out += masker.maskPage(rows.slice(i, i + PAGE)).length;
    const seconds = (performance.now() - start) / 1000;
    if (out !== rows.length) throw new Error("bench lost rows");
    return seconds;
  };

  const probe = compileMasker({ plan: maskedPlan, columns, keys, clock, detectors }).maskPage(
    rows.slice(0, PAGE),
  );
  if (probe.some((row, i) => row[2] === rows[i]?.[2] || row[1] === rows[i]?.[1])) {
    throw new Error("bench masker did not mask");
  }
  run(maskedPlan);
  run(basePlan);
  const masked: number[] = [];
  const baseline: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    baseline.push(run(basePlan));
    masked.push(run(maskedPlan));
  }
  const cells = rows.length * columns.length;
  return {
    cellsPerSec: Math.round(cells / median(masked)),
    baselineCellsPerSec: Math.round(cells / median(baseline)),
    rows: rows.length,
    columns: columns.length,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchMasking();
  console.log(JSON.stringify(result));
}
