// Benchmark of statement analysis: raw libpg-query parse throughput against parse + classify on a typical report query.
import { pathToFileURL } from "node:url";
import { loadModule, parseSync } from "libpg-query";
import { classify } from "#shared/sql/classify.ts";
import { catalogFromDdl } from "#shared/sql/ddl-catalog.ts";
import { loadSqlParser, parseStatement } from "#shared/sql/parser.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

/** A typical report query over the demo schema (781 characters: two CTEs, joins, aggregates, predicates). */
export const REPORT_QUERY = `WITH recent AS (
  SELECT e.patient_id, count(*) AS visits, count(e.discharged_at) AS discharged,
         string_agg(DISTINCT e.department, ',') AS depts
  FROM encounters e
  WHERE e.department <> 'Administrative' AND e.diagnosis_code NOT LIKE 'Z%'
  GROUP BY e.patient_id
  HAVING count(*) > 1
), meds AS (
  SELECT m.patient_id, count(DISTINCT m.drug) AS n
  FROM medications m WHERE m.dose <> ''
  GROUP BY 1
)
SELECT p.id, upper(p.last_name) || ', ' || p.first_name AS name,
       p.dob AS born, r.visits, r.discharged, r.depts,
       coalesce(md.n, 0) AS drugs
FROM patients p
JOIN recent r ON r.patient_id = p.id
LEFT JOIN meds md ON md.patient_id = p.id
WHERE p.state IN ('CA', 'NY') AND p.sex = 'F'
ORDER BY r.visits DESC
LIMIT 100`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function seconds(iterations: number, run: () => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * Measures raw `parseSync` throughput and `parseStatement` + `classify` throughput on {@link REPORT_QUERY}
 * in the same run: warm-up, then 9 rounds; each round alternates 25 small batches (20 statements) of each,
 * so that other load on the machine hits both sides alike. Per round: time per statement of each side and
 * their ratio; the results are the medians over rounds. `overheadPct` is the time analysis adds to a raw
 * parse, in percent of the raw parse.
 */
export async function benchSql(): Promise<{
  rawParsePerSec: number;
  parseClassifyPerSec: number;
  overheadPct: number;
  queryChars: number;
}> {
  await loadModule();
  await loadSqlParser();
  const catalog = catalogFromDdl(EHR_SCHEMA_SQL);
  const raw = () => {
    parseSync(REPORT_QUERY);
  };
  const analyzed = () => {
    classify(parseStatement(REPORT_QUERY), catalog);
  };
  seconds(3_000, raw);
  seconds(3_000, analyzed);
  const batch = 20;
  const batches = 25;
  const rawRates: number[] = [];
  const analyzedRates: number[] = [];
  const overheads: number[] = [];
  for (let round = 0; round < 9; round++) {
    let rawTime = 0;
    let analyzedTime = 0;
    for (let i = 0; i < batches; i++) {
      rawTime += seconds(batch, raw);
      analyzedTime += seconds(batch, analyzed);
    }
    rawRates.push((batches * batch) / rawTime);
    analyzedRates.push((batches * batch) / analyzedTime);
    overheads.push((analyzedTime / rawTime - 1) * 100);
  }
  return {
    rawParsePerSec: Math.round(median(rawRates)),
    parseClassifyPerSec: Math.round(median(analyzedRates)),
    overheadPct: Math.round(median(overheads) * 10) / 10,
    queryChars: REPORT_QUERY.length,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchSql(), null, 2));
}
