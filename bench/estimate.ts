// What the value-blind estimate costs: the generic plan (PREPARE + EXPLAIN EXECUTE) beside the plain EXPLAIN it
// replaced, and the rewrite, on embedded PGlite with the demo schema: `npx tsx bench/estimate.ts`.
import { PGlite } from "@electric-sql/pglite";
import { genericStatement } from "#shared/sql/generic-statement.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import { estimateSteps, explainSql } from "#shared/sql/plan-estimate.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";
import { formatSpread, median, spread } from "./support/stats.ts";

const ROUNDS = 500;
const STATEMENTS = [
  "SELECT id, mrn, ssn, first_name, last_name, dob, sex, zip, phone, email, city FROM patients WHERE id BETWEEN 1 AND 100",
  "SELECT e.id, e.department, p.zip FROM encounters e JOIN patients p ON p.id = e.patient_id WHERE e.patient_id = 6518 AND e.admitted_at > now() - interval '1 year'",
];

const db = new PGlite();
await loadSqlParser();
await db.exec(EHR_SCHEMA_SQL);
await db.exec(`
  INSERT INTO patients SELECT g, 'MRN-' || lpad(g::text, 7, '0'), '000-00-0000', 'N', 'L', date '1960-01-01' + g % 9000,
    'F', 'a', 'c', 'CA', '90001', NULL, NULL FROM generate_series(1, 10000) g;
  INSERT INTO encounters SELECT g, 1 + g % 10000, timestamptz '2024-01-01' + g * interval '1 minute', NULL, 'ER', 'J10', NULL
    FROM generate_series(1, 60000) g;
  ANALYZE;`);

/** One estimate in a read-only transaction, as the executors run it, ending as they do. */
async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await db.exec("BEGIN READ ONLY");
  await run();
  await db.exec("ROLLBACK");
  await db.exec("DISCARD ALL");
  return performance.now() - started;
}

for (const sql of STATEMENTS) {
  const visible: number[] = [];
  const generic: number[] = [];
  const rewrite: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    visible.push(await timed(() => db.query(explainSql(sql))));
    const started = performance.now();
    const made = genericStatement(sql, 0);
    rewrite.push(performance.now() - started);
    if (made === undefined) throw new Error("no generic form");
    const steps = estimateSteps(made);
    generic.push(
      await timed(async () => {
        for (const [name, value] of steps.settings) await db.exec(`SET LOCAL ${name} = ${value}`);
        for (const step of steps.before) await db.exec(step);
        await db.query(steps.explain);
      }),
    );
  }
  const ms = (v: number) => `${v} ms`;
  console.log(sql.slice(0, 60));
  console.log(`  EXPLAIN with the values (before)    ${formatSpread(spread(visible, 3), ms)}`);
  console.log(`  generic plan (PREPARE + EXECUTE)    ${formatSpread(spread(generic, 3), ms)}`);
  console.log(`  rewrite (parse + scan, per analysis) ${formatSpread(spread(rewrite, 3), ms)}`);
  console.log(`  added per estimate: ${(median(generic) - median(visible)).toFixed(3)} ms (medians)`);
}
await db.close();
