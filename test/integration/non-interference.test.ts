// The non-interference test (issue 13): two worlds that differ only in protected values must get the same answers.
//
// World A is the synthetic EHR; world B is A with every protected value (the policy's rule columns and the
// planted PHI of its detector columns) replaced by a fresh image that keeps exactly what the masking shows.
// Every statement goes, as the nightly job, to A's gateway and to B's; answers that wait for approval are
// approved in both; the canonical answers (ids, times and token spellings removed, rows in order) must be equal.
//
// The one declassification: a lookup against a literal reveals whether the value exists, by design. So a literal
// (or parameter) that sits in a lookup position — a top-level AND-conjunct of a WHERE (any query block) or of an
// INNER JOIN's ON, shaped `<column> = <literal>` (either side), `<column> IN (<literals>)` or
// `<column> = ANY (ARRAY[<literals>])`, the literal possibly cast — and equals a whole protected value of A is
// replaced by that value's image in B's copy of the statement (test/support/non-interference/lookup-literals.ts,
// recognized from libpg-query's parse tree, independently of the gateway's analyzer). Nothing else is
// translated: a literal in a select list, a partial value, a literal in any other predicate shape stays as it
// is, so guess-confirmation oracles (`SELECT mrn … UNION ALL SELECT 'MRN-0000001'`) show as differences.
//
// PHIGATE_NI_SEED (generator and image seed), PHIGATE_NI_COUNT (generated statements) and PHIGATE_NI_CONCURRENCY
// (statements in flight) change the run; they are printed with the run's time and findings (and the full list of
// differing statements goes to test-artifacts/non-interference-<backend>.txt).

import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePolicy } from "#shared/policy/load.ts";
import {
  type GatewayPair,
  pgliteBackend,
  serverBackend,
  unmaskedPolicy,
  unprotectedColumnsPolicy,
  type WorldBackend,
  withRunRateLimits,
} from "#test/support/non-interference/backends.ts";
import { loadLookupParser, translateLookups } from "#test/support/non-interference/lookup-literals.ts";
import { type RunSummary, summarize, writeArtifact } from "#test/support/non-interference/report.ts";
import {
  runPair,
  type Statement,
  type StatementRun,
  worldGateway,
} from "#test/support/non-interference/runner.ts";
import { allStatements } from "#test/support/non-interference/statement-sources.ts";
import { type Validity, validityRate } from "#test/support/non-interference/validity.ts";
import { buildWorlds, type WorldPair } from "#test/support/non-interference/worlds.ts";
import { postgresUnavailableReason } from "#test/support/postgres-server.ts";

const SEED = Number(process.env.PHIGATE_NI_SEED ?? 0x13);
const COUNT = Number(process.env.PHIGATE_NI_COUNT ?? 2_500);
/** Small enough that every table has fewer than 30,000 rows (ANALYZE reads them all: exact, equal statistics). */
const EHR = { seed: 0x0e4a2024, patients: 300, encounters: 1_800, medications: 900 };
const CONCURRENCY = Number(process.env.PHIGATE_NI_CONCURRENCY ?? 6);
const RUN_TIMEOUT_MS = 900_000;

async function runPolicy(): Promise<string> {
  return withRunRateLimits(await readFile("policy/demo.yaml", "utf8"));
}

/** World A and B for the policy the gateways run (the bijection is derived from that very text). */
function worldsFor(policyText: string): WorldPair {
  return buildWorlds({
    policy: parsePolicy(policyText, "policy/demo.yaml (rate limits raised)"),
    principalId: "nightly-report",
    ehr: EHR,
    imageSeed: SEED,
    currentYear: new Date().getUTCFullYear(),
  });
}

function protectedColumns(worlds: WorldPair): Set<string> {
  return new Set([...worlds.protection.columns.values()].map((c) => `${c.table}.${c.column}`));
}

let sharedWorlds: WorldPair | undefined;

/** The worlds of the file's runs (built once: they depend on the policy and the seeds only). */
async function theWorlds(): Promise<WorldPair> {
  sharedWorlds ??= worldsFor(await runPolicy());
  return sharedWorlds;
}

interface Backend {
  readonly name: string;
  readonly skip: string | undefined;
  readonly make: (worlds: WorldPair) => Promise<WorldBackend>;
}

const backends: Backend[] = [
  { name: "embedded PGlite", skip: undefined, make: pgliteBackend },
  {
    name: "a PostgreSQL server (DATABASE_URL)",
    // PHIGATE_REQUIRE_POSTGRES=1 makes a missing server fail the suite instead of skipping it.
    skip: process.env.PHIGATE_REQUIRE_POSTGRES === "1" ? undefined : postgresUnavailableReason(),
    make: serverBackend,
  },
];

describe.each(backends)("non-interference against $name", ({ name, skip, make }) => {
  if (skip !== undefined) {
    console.warn(`[non-interference] skipping ${name}: ${skip}`);
    it.skip(`skipped: ${skip}`, () => undefined);
    return;
  }
  let backend: WorldBackend | undefined;
  let worlds: WorldPair;
  let runs: StatementRun[] = [];
  let statements: Statement[] = [];
  let summary: RunSummary;
  let validity: Validity;
  let warnings: string[] = [];

  beforeAll(async () => {
    const started = performance.now();
    await loadLookupParser();
    const policy = await runPolicy();
    worlds = await theWorlds();
    backend = await make(worlds);
    const gateways = await backend.start(policy);
    const all = await allStatements(worlds, {
      generatorSeed: SEED,
      generatedCount: COUNT,
      protectedColumns: protectedColumns(worlds),
    });
    statements = all.statements;
    const counts = all.counts;
    const setupMs = performance.now() - started;
    const runStarted = performance.now();
    runs = await runPair(
      await worldGateway("A", gateways.a),
      await worldGateway("B", gateways.b),
      statements,
      {
        concurrency: CONCURRENCY,
        translate: (s: Statement) => translateLookups(s.sql, s.params, worlds.literals),
      },
    );
    const runMs = performance.now() - runStarted;
    // The gateways' warnings and errors (logs carry no SQL, rows or parameters): they say why a 5xx happened.
    warnings = [
      ...gateways.a.logs.map((line) => `A ${line}`),
      ...gateways.b.logs.map((line) => `B ${line}`),
    ].filter((line) => /"level":"(warn|error)"/.test(line));
    validity = await validityRate(
      gateways.a.host.deps.executor,
      statements.filter((s) => s.source === "generated"),
    );
    await gateways.close();
    summary = summarize(runs, [
      `non-interference against ${name}: seed ${SEED} (PHIGATE_NI_SEED), ${COUNT} generated (PHIGATE_NI_COUNT)`,
      `statements by source: ${JSON.stringify(counts)}; with translated lookups: ${runs.filter((r) => r.translated.replaced.length > 0).length}`,
      `worlds: ${worlds.summary.join("; ")}`,
      `set-up ${(setupMs / 1000).toFixed(1)} s, run ${(runMs / 1000).toFixed(1)} s (${CONCURRENCY} statements in flight, both worlds)`,
      `generator validity on world A: ${validity.valid} / ${validity.total} (${((100 * validity.valid) / Math.max(1, validity.total)).toFixed(1)} %)${validity.errors.length === 0 ? "" : `; errors: ${validity.errors.join(" | ")}`}`,
    ]);
    const artifact = await writeArtifact(
      `non-interference-${name.startsWith("embedded") ? "pglite" : "server"}`,
      {
        ...summary,
        text: [
          summary.text,
          `\n5xx answers (${summary.serverErrors.length}):`,
          ...summary.serverErrors,
          `\ngateway warnings and errors (${warnings.length}, the first 500):`,
          ...warnings.slice(0, 500),
        ].join("\n"),
      },
    );
    console.log(`${summary.text.split("\nexamples:")[0]}\nfull report: ${artifact}`);
  }, RUN_TIMEOUT_MS);

  afterAll(async () => {
    await backend?.stop();
  }, 120_000);

  it("answers no request with a 5xx", () => {
    expect(summary.serverErrors, warnings.slice(-40).join("\n")).toEqual([]);
  });

  it("answers the two reproducers of issue 13 identically in both worlds", () => {
    const reproducers = runs.filter((r) => r.statement.source === "reproducer");
    expect(reproducers).toHaveLength(2);
    expect(
      reproducers
        .filter((r) => r.difference !== undefined)
        .map((r) => `${r.statement.category}: ${r.difference?.detail}`),
    ).toEqual([]);
  });

  it("answers every statement identically in both worlds (order aside)", () => {
    expect(summary.differing.length, summary.text).toBe(0);
  });

  it("returns rows in the same order in both worlds (statements with an ORDER BY)", () => {
    expect(summary.orderOnly.length, summary.text).toBe(0);
  });

  it("ran thousands of statements, most of the generated ones valid SQL", () => {
    expect(runs.length).toBeGreaterThan(COUNT);
    expect(validity.valid / validity.total).toBeGreaterThan(0.8);
  });

  it(
    "finds no difference when the gateway cannot read a protected column (no false alarm)",
    async () => {
      const policy = unprotectedColumnsPolicy(await runPolicy(), "nightly-report", [
        ...worlds.literals.unprotectedNames,
      ]);
      const gateways = await backend?.start(policy);
      if (gateways === undefined) throw new Error("no backend");
      try {
        const quiet = await runPair(
          await worldGateway("A", gateways.a),
          await worldGateway("B", gateways.b),
          statements,
          {
            concurrency: CONCURRENCY,
            translate: (s: Statement) => translateLookups(s.sql, s.params, worlds.literals),
          },
        );
        const result = summarize(quiet, [`no-false-alarm control against ${name}`]);
        expect(result.differing.length + result.orderOnly.length, result.text).toBe(0);
        const answered = quiet.filter(
          (r) => r.a.status === 200 || (r.a.final as { status?: string })?.status === "completed",
        );
        expect(answered.length).toBeGreaterThan(200);
      } finally {
        await gateways.close();
      }
    },
    RUN_TIMEOUT_MS,
  );

  describe("controls: the harness can fail", () => {
    let gateways: GatewayPair | undefined;
    let run: (statements: Statement[], translate: boolean) => Promise<StatementRun[]>;

    beforeAll(async () => {
      // The worlds follow the demo policy's masking; these gateways run without any: every protected value shows.
      gateways = await backend?.start(unmaskedPolicy(await runPolicy()));
      if (gateways === undefined) throw new Error("no backend");
      const [worldA, worldB] = [await worldGateway("A", gateways.a), await worldGateway("B", gateways.b)];
      run = (statements, translate) =>
        runPair(worldA, worldB, statements, {
          concurrency: 2,
          translate: (s) =>
            translate
              ? translateLookups(s.sql, s.params, worlds.literals)
              : { sql: s.sql, params: s.params, replaced: [] },
        });
    }, 300_000);

    afterAll(async () => {
      await gateways?.close();
    }, 120_000);

    it("finds differences when the gateway masks nothing", async () => {
      const runs = await run(
        [
          {
            source: "control",
            category: "unmasked",
            sql: "SELECT id, first_name, dob, zip FROM patients WHERE id <= 3",
          },
          {
            source: "control",
            category: "unmasked",
            sql: "SELECT id FROM patients WHERE mrn LIKE 'MRN-1%' ORDER BY id",
          },
          {
            source: "control",
            category: "unmasked",
            sql: "SELECT id, email FROM patients WHERE id <= 5",
          },
        ],
        true,
      );
      expect(runs.map((r) => r.difference?.kind)).toEqual(["body", "body", "body"]);
    });

    it("finds a lookup's difference when the translation is off, and none when it is on", async () => {
      const mrn = worlds.a.patients[1]?.mrn ?? "";
      const lastName = worlds.a.patients[2]?.last_name ?? "";
      const statements: Statement[] = [
        { source: "control", category: "lookup", sql: `SELECT id FROM patients WHERE mrn = '${mrn}'` },
        {
          source: "control",
          category: "lookup",
          sql: "SELECT id FROM patients WHERE last_name = ANY (ARRAY[$1])",
          params: [lastName],
        },
      ];
      const off = await run(statements, false);
      expect(off.map((r) => r.difference?.kind)).toEqual(["body", "body"]);
      const on = await run(statements, true);
      expect(on.map((r) => r.translated.replaced.length)).toEqual([1, 1]);
      expect(on.map((r) => r.difference)).toEqual([undefined, undefined]);
    });
  });
});
