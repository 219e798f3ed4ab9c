// Where the non-interference run's statements come from: adversarial lists, the suites' statements, the generator.

import { ADVERSARIAL_STATEMENTS } from "#test/support/adversarial/statements.ts";
import { generateStatements } from "#test/support/random-sql/generate.ts";
import { literalPool } from "#test/support/random-sql/model.ts";
import { harvestedStatements } from "./harvest.ts";
import type { Statement } from "./runner.ts";
import type { WorldPair } from "./worlds.ts";

/**
 * The two reproducers of issue 13: a recursive CTE with CYCLE that spells every SSN out, and a UNION-dedup probe
 * of one SSN digit. The probe guesses the first digit of a patient's SSN in A, choosing the first patient whose
 * image in B starts with another digit (so the difference shows whenever the construct leaks).
 */
export function issue13Reproducers(worlds: WorldPair): Statement[] {
  const index = worlds.a.patients.findIndex((p, i) => p.ssn[0] !== worlds.b.patients[i]?.ssn[0]);
  const patient = worlds.a.patients[index];
  if (patient === undefined) throw new Error("no patient whose SSN image starts with another digit");
  return [
    {
      source: "reproducer",
      category: "issue 13: CYCLE spells the SSN",
      sql: `WITH RECURSIVE t(pid,pos,d,n) AS (
  SELECT p.id, g.pos, substr(p.ssn, g.pos, 1), 31 FROM patients p CROSS JOIN generate_series(1,11) g(pos)
  UNION ALL SELECT pid, pos, chr(n), n+1 FROM t WHERE n < 127)
CYCLE pid,pos,d SET hit USING path
SELECT pid, string_agg(chr(n-1), '' ORDER BY pos) FROM t WHERE hit GROUP BY pid`,
    },
    {
      source: "reproducer",
      category: "issue 13: UNION dedup confirms a digit",
      sql: `WITH RECURSIVE t(d) AS (SELECT substr(ssn,1,1) FROM patients WHERE id=${patient.id} UNION SELECT '${patient.ssn[0]}' FROM t) SELECT count(*) FROM t`,
    },
  ];
}

/** Options of {@link allStatements}. */
export interface SourceOptions {
  readonly generatorSeed: number;
  readonly generatedCount: number;
  /** `table.column` of the protected base columns. */
  readonly protectedColumns: ReadonlySet<string>;
  readonly root?: string;
}

/** Every statement of a run, by source: reproducers, adversarial lists, harvested, generated. */
export async function allStatements(
  worlds: WorldPair,
  options: SourceOptions,
): Promise<{ statements: Statement[]; counts: Record<string, number> }> {
  const root = options.root ?? process.cwd();
  const adversarial: Statement[] = ADVERSARIAL_STATEMENTS.map((s) => ({
    source: "adversarial",
    category: s.category,
    sql: s.sql,
    ...(s.params === undefined ? {} : { params: s.params }),
  }));
  const harvested = harvestedStatements(root);
  const generated = generateStatements({
    seed: options.generatorSeed,
    count: options.generatedCount,
    pool: literalPool(worlds.a),
    protectedColumns: options.protectedColumns,
  }).map((g) => ({
    source: "generated",
    category: g.category,
    sql: g.sql,
    ...(g.params === undefined ? {} : { params: g.params }),
  }));
  const statements = [...issue13Reproducers(worlds), ...adversarial, ...harvested, ...generated];
  const counts: Record<string, number> = {};
  for (const s of statements) counts[s.source] = (counts[s.source] ?? 0) + 1;
  return { statements, counts };
}
