// Issue 13's reproducers and the error oracle it describes, verbatim where the issue gives them.

import { ADVERSARIAL_PATIENTS } from "#test/support/adversarial/build.ts";

/** Issue 13's first reproducer, verbatim: the CYCLE mark is an equality oracle that spells every SSN. */
export const ISSUE_13_CYCLE = `WITH RECURSIVE t(pid,pos,d,n) AS (
  SELECT p.id, g.pos, substr(p.ssn, g.pos, 1), 31 FROM patients p CROSS JOIN generate_series(1,11) g(pos)
  UNION ALL SELECT pid, pos, chr(n), n+1 FROM t WHERE n < 127)
CYCLE pid,pos,d SET hit USING path
SELECT pid, string_agg(chr(n-1), '' ORDER BY pos) FROM t WHERE hit GROUP BY pid`;

/** The first reproducer on patients 1..3 only. */
export const ISSUE_13_CYCLE_FEW = `WITH RECURSIVE t(pid, pos, d, n) AS (SELECT p.id, g.pos, substr(p.ssn, g.pos, 1), 31 FROM patients p CROSS JOIN generate_series(1, 11) g(pos) WHERE p.id <= 3 UNION ALL SELECT pid, pos, chr(n), n + 1 FROM t WHERE n < 127) CYCLE pid, pos, d SET hit USING path SELECT pid, string_agg(chr(n - 1), '' ORDER BY pos) FROM t WHERE hit GROUP BY pid`;

/** Issue 13's second reproducer, verbatim: duplicate removal in a recursive UNION confirms a guessed digit. */
export const ISSUE_13_UNION =
  "WITH RECURSIVE t(d) AS (SELECT substr(ssn,1,1) FROM patients WHERE id=1 UNION SELECT '3' FROM t) SELECT count(*) FROM t";

/**
 * Issue 13's approval path: the SSN is used only in a join predicate, so the output is "constants" — once approved,
 * each position's matching constant spells the SSN.
 */
export const ISSUE_13_PREDICATE_SPELLING = `SELECT p.id, string_agg(d.c, '' ORDER BY g.pos) FROM patients p CROSS JOIN generate_series(1, 11) g(pos) JOIN (VALUES ('0'), ('1'), ('2'), ('3'), ('4'), ('5'), ('6'), ('7'), ('8'), ('9'), ('-')) d(c) ON substr(p.ssn, g.pos, 1) = d.c WHERE p.id <= ${ADVERSARIAL_PATIENTS} GROUP BY p.id`;

/** A CASE whose ten branches raise ten different SQLSTATEs: the error code spells the SSN's first digit. */
export const TEN_ERRORS_CASE = `SELECT CASE substr(ssn, 1, 1)
  WHEN '0' THEN 1 / (id - id)
  WHEN '1' THEN ('x' || id)::int
  WHEN '2' THEN id + 2147483647
  WHEN '3' THEN extract(day FROM make_date(2000, 12 + id, 1))::int
  WHEN '4' THEN ln(id - id)::int
  WHEN '5' THEN power(id - id, -1)::int
  WHEN '6' THEN width_bucket(id, id, id, 1)
  WHEN '7' THEN (SELECT g FROM generate_series(1, id + 1) g)
  WHEN '8' THEN ascii(chr(id * 0))
  ELSE extract(year FROM to_date('x' || id, 'YYYY'))::int
END FROM patients WHERE id = 1`;
