// The random statement generator: seeded, parsable, mostly aimed at protected columns, covering every construct class.

import { parseSync } from "libpg-query";
import { beforeAll, describe, expect, it } from "vitest";
import { loadLookupParser, translateLookups } from "#test/support/non-interference/lookup-literals.ts";
import { demoGeneratorInputs } from "#test/support/random-sql/demo-inputs.ts";
import { FOCUSED_CATEGORIES } from "#test/support/random-sql/focused.ts";
import { type GeneratedStatement, generateStatements } from "#test/support/random-sql/generate.ts";

const { worlds, pool, protectedColumns } = demoGeneratorInputs();

function generate(seed: number, count = 2_000): GeneratedStatement[] {
  return generateStatements({ seed, count, pool, protectedColumns });
}

/** Constructs of the opacity spec (deny list and allowed forms) the statements must exercise, as SQL patterns. */
const CONSTRUCTS: Readonly<Record<string, RegExp>> = {
  "function on a column": /\b(substr|md5|length|ascii|reverse|left|split_part|regexp_replace)\((p|e|m)\d+\./,
  "total operation": /\b(upper|lower|btrim|concat|concat_ws)\(|\|\|/,
  operator: / (<|>|<=|>=|<>|~) /,
  cast: /::(int|date|bytea|char\(\d\)|varchar\(\d\)|numeric|text)\b/,
  "CASE WHEN": /\bCASE WHEN\b/,
  "CASE col WHEN": /\bCASE [a-z][\w.]* WHEN\b/,
  COALESCE: /\bCOALESCE\(/,
  NULLIF: /\bNULLIF\(/,
  GREATEST: /\bGREATEST\(/,
  "count(*)": /\bcount\(\*\)/,
  "count(col)": /\bcount\([a-z]\d+\.\w+\)/,
  "count(DISTINCT)": /\bcount\(DISTINCT /,
  "min/max": /\b(min|max)\(/,
  string_agg: /\bstring_agg\(/,
  array_agg: /\barray_agg\(/,
  "aggregate ORDER BY": /_agg\([^)]* ORDER BY /,
  FILTER: /\bFILTER \(WHERE /,
  "PARTITION BY": /\bOVER \(PARTITION BY /,
  "window ORDER BY": /\bOVER \((PARTITION BY .*)?ORDER BY /,
  "window frame": /\b(ROWS|RANGE|GROUPS) BETWEEN /,
  lag: /\blag\(/,
  lead: /\blead\(/,
  row_number: /\brow_number\(\)/,
  "scalar subquery": /\(SELECT (max|min)\(/,
  "IN (subquery)": /\bIN \(SELECT /,
  EXISTS: /\bEXISTS \(SELECT /,
  "ANY (subquery)": /ANY \(SELECT /,
  CTE: /^WITH \w+ AS /,
  "WITH RECURSIVE … UNION ALL": /^WITH RECURSIVE .* UNION ALL /,
  "WITH RECURSIVE … UNION": /^WITH RECURSIVE .* UNION SELECT /,
  CYCLE: /\) CYCLE /,
  SEARCH: /\) SEARCH (DEPTH|BREADTH) FIRST BY /,
  UNION: /\) UNION \(| UNION SELECT /,
  INTERSECT: /\bINTERSECT\b/,
  EXCEPT: /\bEXCEPT\b/,
  "inner join": / JOIN \w+ \w+ ON /,
  "left join": / LEFT JOIN /,
  "cross join": / CROSS JOIN /,
  LATERAL: /\bLATERAL \(/,
  USING: / USING \(/,
  NATURAL: / NATURAL JOIN /,
  VALUES: /\(VALUES \(/,
  "GROUP BY": / GROUP BY /,
  HAVING: / HAVING /,
  DISTINCT: /SELECT DISTINCT /,
  "DISTINCT ON": /SELECT DISTINCT ON \(/,
  "ORDER BY": / ORDER BY /,
  LIMIT: / LIMIT \d/,
  "LIMIT (subquery)": / LIMIT \(SELECT /,
  OFFSET: / OFFSET /,
  "TABLESAMPLE REPEATABLE": / TABLESAMPLE (BERNOULLI|SYSTEM) \(.*\) REPEATABLE \(/,
  generate_series: /\bgenerate_series\(/,
  unnest: /\bunnest\(/,
  "whole row": /\brow_to_json\([a-z]\d+\)|\b[a-z]\d+::text\b/,
  "JSON/XML builder": /\b(json_build_object|xmlelement|to_json)\(/,
  "ARRAY/ROW constructor": /\bARRAY\[|\bROW\(/,
  "IS NULL": / IS (NOT )?NULL/,
  "$n parameter": /\$\d+/,
};

beforeAll(loadLookupParser);

describe("the random statement generator", () => {
  const statements = generate(0x13);

  it("is deterministic for a seed and different across seeds", () => {
    expect(generate(0x13, 200)).toEqual(statements.slice(0, 200));
    expect(generate(0x14, 200).map((s) => s.sql)).not.toEqual(statements.slice(0, 200).map((s) => s.sql));
  });

  it("writes statements PostgreSQL's parser accepts, each one statement, parameters matching placeholders", () => {
    for (const { sql, params } of statements) {
      expect(parseSync(sql).stmts, sql).toHaveLength(1);
      const highest = Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      expect(params?.length ?? 0, sql).toBe(highest);
    }
  });

  it("covers every construct class of the opacity spec and every focused category", () => {
    const missing = Object.entries(CONSTRUCTS)
      .filter(([, pattern]) => !statements.some((s) => pattern.test(s.sql)))
      .map(([name]) => name);
    expect(missing).toEqual([]);
    const categories = new Set(statements.map((s) => s.category));
    expect(FOCUSED_CATEGORIES.filter((c) => !categories.has(`focused:${c}`))).toEqual([]);
  });

  it("aims at protected columns and writes lookups with whole values of world A", () => {
    const aimed = statements.filter((s) =>
      /\.(ssn|mrn|first_name|last_name|dob|zip|phone|email|address|city|notes|admitted_at|discharged_at|started_at)\b/.test(
        s.sql,
      ),
    );
    expect(aimed.length / statements.length).toBeGreaterThan(0.8);
    const translated = statements.filter(
      (s) => translateLookups(s.sql, s.params, worlds.literals).replaced.length > 0,
    );
    expect(translated.length).toBeGreaterThan(50);
  });
});
