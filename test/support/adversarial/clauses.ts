// Adversarial statements putting protected values through clauses: grouping, ordering, windows, set operations, recursion, row limits.

import {
  ADDRESS,
  ADVERSARIAL_PATIENTS,
  DOB,
  deniedOther,
  deny,
  E,
  EMAIL,
  FIRST,
  GUESS,
  LAST,
  MRN,
  masked,
  NOTES,
  ONE,
  P,
  PHONE,
  SSN,
  TWO,
  ZIP,
} from "#test/support/adversarial/build.ts";
import {
  ISSUE_13_CYCLE,
  ISSUE_13_CYCLE_FEW,
  ISSUE_13_PREDICATE_SPELLING,
  ISSUE_13_UNION,
} from "#test/support/adversarial/reproducers.ts";
import type { AdversarialStatement } from "#test/support/adversarial/types.ts";

/** GROUP BY, DISTINCT, ORDER BY, windows, set operations, VALUES, recursive CTEs, LIMIT and set-returning arguments on protected values: denied. */
export const CLAUSE_STATEMENTS: readonly AdversarialStatement[] = [
  // ---- GROUP BY, DISTINCT, DISTINCT ON ----
  ...deny(
    "GROUP BY",
    SSN,
    ["group"],
    [`SELECT ssn, count(*) ${P} GROUP BY ssn`, `SELECT count(*) ${P} GROUP BY ssn`],
  ),
  ...deny(
    "GROUP BY",
    ZIP,
    ["group", "rollup", "grouping"],
    [
      `SELECT count(*) ${P} GROUP BY zip`,
      `SELECT count(*) ${P} GROUP BY ROLLUP (zip)`,
      `SELECT count(*) ${P} GROUP BY GROUPING SETS ((zip), ())`,
      `SELECT count(*) FROM (SELECT zip ${P} GROUP BY zip) g`,
    ],
  ),
  ...deny("GROUP BY", DOB, ["group", "cube"], [`SELECT count(*) ${P} GROUP BY CUBE (dob)`]),
  ...deny("GROUP BY", SSN, ["group"], [`SELECT ssn ${P} GROUP BY 1`, `SELECT id, ssn ${P} GROUP BY id, ssn`]),
  ...deny("GROUP BY", ZIP, ["substr"], [`SELECT count(*) ${P} GROUP BY substr(zip, 1, 3)`]),
  ...deny("GROUP BY", DOB, ["date_part"], [`SELECT count(*) ${P} GROUP BY date_part('year', dob)`]),
  ...deny("GROUP BY", LAST, ["group"], [`SELECT count(*) ${P} GROUP BY last_name`]),
  ...deny("GROUP BY", LAST, ["upper", "group"], [`SELECT count(*) ${P} GROUP BY upper(last_name)`]),
  ...deny(
    "GROUP BY",
    MRN,
    ["group"],
    [
      [
        `SELECT p.mrn, count(e.id) FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS} GROUP BY p.mrn`,
        { why: "a report grouping by the identifier: group by the plain id and select mrn instead" },
      ],
    ],
  ),
  ...deny("DISTINCT", ZIP, ["distinct"], [`SELECT DISTINCT zip ${P}`]),
  ...deny(
    "DISTINCT",
    SSN,
    ["distinct"],
    [`SELECT DISTINCT ON (ssn) id ${P}`, `SELECT DISTINCT id, ssn ${P}`],
  ),
  ...deny(
    "DISTINCT",
    LAST,
    ["distinct", "upper"],
    [`SELECT count(*) FROM (SELECT DISTINCT upper(last_name) ${P}) d`, `SELECT DISTINCT last_name ${P}`],
  ),
  ...deny(
    "DISTINCT",
    FIRST,
    ["distinct", "string_agg"],
    [`SELECT string_agg(DISTINCT first_name, ',') ${P}`],
  ),
  ...deny("DISTINCT", ZIP, ["distinct", "array_agg"], [`SELECT array_agg(DISTINCT zip) ${P}`]),
  ...deny(
    "DISTINCT",
    MRN,
    ["distinct"],
    [
      `SELECT DISTINCT p.mrn FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny("DISTINCT", SSN, ["distinct", "count"], [`SELECT count(DISTINCT ssn) ${P}`]),
  ...deny("DISTINCT", ZIP, ["distinct", "count"], [`SELECT count(DISTINCT zip), count(ssn) ${P}`]),
  ...deny(
    "DISTINCT",
    [FIRST, LAST],
    ["distinct", "count", "row"],
    [`SELECT count(DISTINCT (first_name, last_name)) ${P}`],
  ),
  ...deny("DISTINCT", EMAIL, ["distinct", "count", "upper"], [`SELECT count(DISTINCT upper(email)) ${P}`]),
  // ---- ORDER BY: query, aggregate, inside LATERAL ----
  ...deny("ORDER BY", DOB, ["order", "sort"], [`SELECT id ${P} ORDER BY dob`]),
  ...deny(
    "ORDER BY",
    SSN,
    ["order", "sort"],
    [
      `SELECT id ${P} ORDER BY ssn DESC`,
      `SELECT id, ssn ${P} ORDER BY 2`,
      `SELECT id ${P} ORDER BY ssn USING <`,
      `SELECT id FROM (SELECT id, ssn ${P} ORDER BY ssn LIMIT 1) s`,
    ],
  ),
  ...deny("ORDER BY", SSN, ["length"], [`SELECT id ${P} ORDER BY length(ssn)`]),
  ...deny("ORDER BY", LAST, ["order", "sort"], [`SELECT id ${P} ORDER BY last_name, id`]),
  ...deny("ORDER BY", ZIP, ["order", "sort"], [`SELECT id ${P} ORDER BY zip NULLS FIRST`]),
  ...deny("ORDER BY", MRN, ["order", "sort"], [`SELECT id, mrn ${P} ORDER BY mrn LIMIT 1`]),
  ...deny(
    "ORDER BY (aggregate)",
    SSN,
    ["order", "sort"],
    [`SELECT string_agg(id::text, ',' ORDER BY ssn) ${P}`],
  ),
  ...deny("ORDER BY (aggregate)", DOB, ["order", "sort"], [`SELECT array_agg(id ORDER BY dob) ${P}`]),
  ...deny("ORDER BY (aggregate)", ZIP, ["order", "sort"], [`SELECT json_agg(id ORDER BY zip) ${P}`]),
  ...deny(
    "ORDER BY (aggregate)",
    SSN,
    ["mode", "order", "within group"],
    [`SELECT mode() WITHIN GROUP (ORDER BY ssn) ${P}`],
  ),
  ...deny(
    "ORDER BY (aggregate)",
    DOB,
    ["percentile_disc", "order", "within group"],
    [`SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY dob) ${P}`],
  ),
  ...deny(
    "ORDER BY (LATERAL)",
    SSN,
    ["order", "sort"],
    [
      `SELECT p.id, l.id FROM patients p, LATERAL (SELECT q.id FROM patients q WHERE q.id <= 10 ORDER BY q.ssn LIMIT 1) l WHERE p.id <= 3`,
    ],
  ),
  ...deny(
    "ORDER BY (LATERAL)",
    DOB,
    ["order", "sort"],
    [
      `SELECT e.id, l.id FROM encounters e CROSS JOIN LATERAL (SELECT q.id FROM patients q WHERE q.id <= 10 ORDER BY q.dob DESC LIMIT 2) l WHERE e.patient_id = 1`,
    ],
  ),
  ...deny(
    "ORDER BY (LATERAL)",
    NOTES,
    ["order", "sort"],
    [
      `SELECT p.id, l.id FROM patients p, LATERAL (SELECT e.id FROM encounters e WHERE e.patient_id = p.id ORDER BY e.notes LIMIT 1) l WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  // ---- Windows ----
  ...deny(
    "window",
    ZIP,
    ["partition", "window", "over"],
    [
      `SELECT id, row_number() OVER (PARTITION BY zip ORDER BY id) ${P}`,
      `SELECT id, count(*) OVER w FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS} WINDOW w AS (PARTITION BY zip)`,
    ],
  ),
  ...deny("window", DOB, ["order", "window", "over"], [`SELECT id, rank() OVER (ORDER BY dob) ${P}`]),
  ...deny(
    "window",
    SSN,
    ["partition", "window", "over"],
    [`SELECT id, count(*) OVER (PARTITION BY ssn) ${P}`],
  ),
  ...deny(
    "window",
    LAST,
    ["order", "window", "over"],
    [`SELECT id, sum(id) OVER (ORDER BY last_name ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) ${P}`],
  ),
  ...deny("window", ZIP, ["order", "window", "over"], [`SELECT id, ntile(3) OVER (ORDER BY zip) ${P}`]),
  ...deny(
    "window",
    DOB,
    ["range", "order", "window", "frame"],
    [
      `SELECT id, count(*) OVER (ORDER BY dob RANGE BETWEEN '1 year'::interval PRECEDING AND CURRENT ROW) ${P}`,
    ],
  ),
  ...deny(
    "window",
    FIRST,
    ["order", "window", "over"],
    [`SELECT id, percent_rank() OVER (PARTITION BY state ORDER BY first_name) ${P}`],
  ),
  ...deny(
    "window",
    MRN,
    ["partition", "window", "over"],
    [
      `SELECT id, dense_rank() OVER w FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS} WINDOW w AS (PARTITION BY mrn ORDER BY id)`,
    ],
  ),
  ...deny("window", SSN, ["first_value"], [`SELECT first_value(ssn) OVER (ORDER BY id) ${P}`]),
  ...deny("window", MRN, ["lag"], [`SELECT lag(mrn) OVER (ORDER BY id) ${P}`]),
  ...deny("window", EMAIL, ["lead"], [`SELECT lead(email) OVER (ORDER BY id) ${P}`]),
  ...deny(
    "window",
    PHONE,
    ["nth_value"],
    [
      `SELECT nth_value(phone, 2) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) ${P}`,
    ],
  ),
  ...deny(
    "window",
    ADDRESS,
    ["last_value"],
    [
      `SELECT last_value(address) OVER w FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS} WINDOW w AS (ORDER BY id)`,
    ],
  ),
  ...deny(
    "window",
    NOTES,
    ["order", "window", "over"],
    [`SELECT id, dense_rank() OVER (ORDER BY notes) ${E}`],
  ),
  // ---- Set operations (UNION ALL included: with guessed constants it is a tokenize oracle) ----
  ...deny(
    "set operation",
    SSN,
    ["union", "set operation"],
    [
      `SELECT ssn ${P} UNION SELECT city ${P}`,
      `SELECT id::text ${P} UNION ALL SELECT upper(ssn) ${P}`,
      `SELECT ssn FROM patients WHERE id = 1 UNION ALL SELECT ssn FROM patients WHERE id = 2`,
    ],
  ),
  ...deny(
    "set operation",
    [SSN, MRN],
    ["union", "set operation"],
    [`SELECT ssn ${P} UNION ALL SELECT mrn ${P}`],
  ),
  ...deny(
    "set operation",
    SSN,
    ["intersect", "set operation"],
    [
      `SELECT ssn ${P} INTERSECT SELECT ssn ${P}`,
      `SELECT ssn ${P} INTERSECT ALL SELECT ssn FROM patients WHERE id BETWEEN 11 AND 20`,
    ],
  ),
  ...deny(
    "set operation",
    SSN,
    ["except", "set operation"],
    [
      `SELECT ssn ${P} EXCEPT SELECT ssn FROM patients WHERE id BETWEEN 11 AND 20`,
      `SELECT ssn ${P} EXCEPT ALL SELECT ssn FROM patients WHERE id = 1`,
    ],
  ),
  ...deny("set operation", EMAIL, ["union", "set operation"], [`SELECT 'x' UNION ALL SELECT email ${P}`]),
  ...deny(
    "set operation",
    [FIRST, NOTES],
    ["union", "set operation"],
    [`SELECT first_name ${P} UNION ALL SELECT notes ${E}`],
  ),
  ...deny(
    "set operation",
    ZIP,
    ["union", "set operation"],
    [`SELECT count(*) FROM (SELECT zip ${P} UNION SELECT zip ${P}) u`],
  ),
  ...deny(
    "set operation: guessed constants",
    MRN,
    ["union", "set operation"],
    [
      [`SELECT mrn FROM patients WHERE id = 1 UNION ALL SELECT '${ONE.mrn}'`, GUESS],
      [`SELECT mrn FROM patients WHERE id = 1 UNION ALL SELECT '${TWO.mrn}'`, GUESS],
      [`SELECT mrn FROM patients WHERE id = 1 UNION SELECT '${ONE.mrn}'`, GUESS],
    ],
  ),
  ...deny(
    "set operation: guessed constants",
    FIRST,
    ["union", "set operation"],
    [[`SELECT first_name FROM patients WHERE id = 1 UNION ALL SELECT '${ONE.first_name}'`, GUESS]],
  ),
  ...deny(
    "set operation: guessed constants",
    LAST,
    ["union", "set operation"],
    [
      [
        `SELECT last_name FROM patients WHERE id = 1 UNION ALL SELECT '${ONE.last_name}' UNION ALL SELECT '${TWO.last_name}'`,
        GUESS,
      ],
    ],
  ),
  ...deny(
    "set operation: guessed constants",
    SSN,
    ["intersect", "except", "set operation"],
    [
      [`SELECT ssn ${P} INTERSECT SELECT '${ONE.ssn}'`, GUESS],
      [`SELECT ssn ${P} EXCEPT SELECT '${ONE.ssn}'`, GUESS],
    ],
  ),
  // ---- VALUES carrying P ----
  ...deny(
    "VALUES",
    [SSN, MRN],
    ["values"],
    [
      `SELECT v.x FROM patients p, LATERAL (VALUES (p.ssn), (p.mrn)) v(x) WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "VALUES",
    SSN,
    ["values"],
    [
      `SELECT v.x FROM patients p, LATERAL (VALUES (p.ssn), ('x')) v(x) WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
      "SELECT x FROM (VALUES ((SELECT ssn FROM patients WHERE id = 1)), ('x')) v(x)",
      [
        `SELECT count(*) FROM (SELECT DISTINCT x FROM patients p, LATERAL (VALUES (p.ssn), ('${ONE.ssn}')) v(x) WHERE p.id = 1) d`,
        GUESS,
      ],
    ],
  ),
  ...deny(
    "VALUES",
    SSN,
    ["values", "in", "row", "="],
    [[`SELECT id ${P} AND (id, ssn) IN (VALUES (1, '${ONE.ssn}'))`, GUESS]],
  ),
  // ---- Recursive CTEs, CYCLE, SEARCH ----
  ...deny("issue 13 reproducer", SSN, ["recursive", "cycle", "substr"], [ISSUE_13_CYCLE]),
  ...deny("issue 13 reproducer", SSN, ["recursive", "union", "substr"], [ISSUE_13_UNION]),
  ...deny("issue 13 reproducer", SSN, ["substr", "join", "="], [ISSUE_13_PREDICATE_SPELLING]),
  ...deny(
    "issue 13 reproducer",
    SSN,
    ["substr", "case", "="],
    [
      `SELECT p.id, string_agg(CASE substr(p.ssn, g.pos, 1) WHEN '0' THEN '0' WHEN '1' THEN '1' WHEN '2' THEN '2' WHEN '3' THEN '3' WHEN '4' THEN '4' WHEN '5' THEN '5' WHEN '6' THEN '6' WHEN '7' THEN '7' WHEN '8' THEN '8' WHEN '9' THEN '9' ELSE '-' END, '' ORDER BY g.pos) FROM patients p CROSS JOIN generate_series(1, 11) g(pos) WHERE p.id <= ${ADVERSARIAL_PATIENTS} GROUP BY p.id`,
    ],
  ),
  ...deny("CYCLE", SSN, ["recursive", "cycle", "substr"], [ISSUE_13_CYCLE_FEW]),
  ...deny(
    "CYCLE",
    [SSN, MRN],
    ["recursive", "cycle"],
    [
      `WITH RECURSIVE t(pid, d, n) AS (SELECT id, ssn, 0 ${P} UNION ALL SELECT pid, d, n + 1 FROM t WHERE n < 2) CYCLE d SET hit USING path SELECT pid, bool_or(hit) FROM t GROUP BY pid`,
      [
        `WITH RECURSIVE t(m) AS (SELECT mrn FROM patients WHERE id = 1 UNION ALL SELECT '${ONE.mrn}' FROM t) CYCLE m SET hit USING path SELECT bool_or(hit) FROM t`,
        GUESS,
      ],
    ],
  ),
  ...deny(
    "recursive CTE",
    [SSN, MRN],
    ["recursive", "union"],
    [
      [
        `WITH RECURSIVE t(d) AS (SELECT mrn FROM patients WHERE id = 1 UNION SELECT '${ONE.mrn}' FROM t) SELECT count(*) FROM t`,
        GUESS,
      ],
    ],
  ),
  // Found by a second outside attack: names the analysis resolved otherwise than PostgreSQL does — a column of an
  // outer level shadowed by an inner whole-row alias, a non-LATERAL subquery or a JOIN's ON seeing the FROM items
  // beside it, a CASE named "case" where PostgreSQL names it after its ELSE result.
  ...deny(
    "name resolution",
    [SSN, FIRST],
    ["convert_to", "reverse", "substr", "join", "case"],
    [
      `SELECT id, (SELECT encode(convert_to(concat_ws('|', ssn, first_name), 'UTF8'), 'base64') FROM (SELECT 1) ssn, (SELECT 1) first_name) FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS}`,
      `SELECT id, (SELECT s FROM (SELECT 'x'::text AS ssn) a, (SELECT reverse(ssn) AS s) b) FROM patients WHERE id < 3`,
      `SELECT id, (SELECT string_agg(g.c, '' ORDER BY g.k DESC) FROM (SELECT 'x'::text AS ssn) x, (SELECT k, c FROM generate_series(1, 11) k, regexp_split_to_table('0123456789-', '') c) g JOIN (SELECT 1 AS one) z ON substr(ssn, g.k, 1) = g.c) FROM patients WHERE id < 4`,
      `SELECT id, reverse(ssn), first_name FROM (SELECT id, CASE WHEN false THEN NULL ELSE ssn END, CASE WHEN false THEN NULL ELSE first_name END FROM patients) a LEFT JOIN (SELECT NULL::text AS ssn, NULL::text AS first_name) b USING (ssn, first_name) WHERE id < 4`,
    ],
  ),
  ...deny(
    "name resolution",
    [DOB],
    ["dob", "cast", "where", "join"],
    [
      `SELECT id, (SELECT dob::text FROM (SELECT 1) dob) FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS} AND (SELECT dob FROM (SELECT 1) dob) > '1900-01-01'`,
    ],
  ),
  // Found by an outside attack: WITH RECURSIVE without a self-reference, its union split into branches that
  // merged guessed constants as copies (an equi-join then compared them with the real values).
  ...deny(
    "recursive CTE without recursion",
    [SSN, FIRST, ZIP],
    ["set operation", "union"],
    [
      `WITH RECURSIVE g(s, k) AS (SELECT ssn, 0 FROM patients WHERE false UNION ALL SELECT to_char(n, 'FM000-00-0000'), n FROM generate_series(389520490, 389520499) n) SELECT p.id, g.k FROM patients p JOIN g ON g.s = p.ssn WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
      [
        `WITH RECURSIVE fn(v, k) AS (SELECT first_name, 0 FROM patients WHERE false UNION ALL SELECT x, i FROM unnest(ARRAY['${ONE.first_name}', 'Elijah']) WITH ORDINALITY u(x, i)) SELECT p.id, fn.k FROM patients p JOIN fn ON fn.v = p.first_name WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
        GUESS,
      ],
      `WITH RECURSIVE zp(v, k) AS (SELECT zip, 0 FROM patients WHERE false UNION ALL SELECT lpad(n::text, 5, '0'), n FROM generate_series(0, 999) n) SELECT p.id, zp.k FROM patients p JOIN zp ON zp.v = p.zip WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
      [
        `WITH RECURSIVE g(n) AS (SELECT first_name FROM patients WHERE false UNION ALL SELECT x FROM unnest(ARRAY['${ONE.first_name}', 'Elijah']) x) SELECT n FROM g`,
        GUESS,
      ],
      [
        `WITH RECURSIVE g AS (SELECT ssn FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS} UNION SELECT '${ONE.ssn}') SELECT count(*) FROM g`,
        GUESS,
      ],
    ],
  ),
  // Found by an outside attack: shapes PostgreSQL knows and the analysis guessed. An aliased join's column list
  // renames what unqualified names see; a FROM function of unknown shape does not answer to every name (PostgreSQL
  // may resolve it outward); NATURAL JOIN with such a function joins on columns the analysis cannot see;
  // `(c).*` expands into one output per field, moving every later position; unnest of several arrays, of an
  // array of rows and a cast to a row type in FROM are as wide as PostgreSQL says; ORDER BY a name an output of
  // unknown name may carry sorts by that output.
  ...deniedOther("shapes the analysis must not guess", [
    `SELECT id, translate(c1, '0123456789', 'abcdefghij') FROM (patients p CROSS JOIN (SELECT 1 AS c1) z) AS j(id, a2, c1, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, z1) WHERE id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT id, c7 AS m, c2 AS f, c4 AS d, c1 < '5' AS lt FROM (patients p CROSS JOIN (SELECT 1 AS c1, 1 AS c2, 1 AS c3, 1 AS c4, 1 AS c5, 1 AS c6, 1 AS c7) z) AS j(id, c7, c1, c2, c3, c4, a7, c5, a9, a10, a11, c6, a13, z1, z2, z3, z4, z5, z6, z7) WHERE id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT p.id, l.* FROM patients p, LATERAL (SELECT ssn AS s, translate(ssn, '0123456789', 'abcdefghij') AS t, first_name AS fn, dob AS d, ssn < '5' AS lt FROM pi() f) l WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT id, (SELECT translate(ssn, '0123456789', 'abcdefghij') FROM pi() f) AS x FROM patients p WHERE id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT p.id, (SELECT translate(mrn, '0123456789', 'abcdefghij') FROM pg_get_keywords() k LIMIT 1) FROM patients p WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    [
      `SELECT id FROM (SELECT id, dob FROM patients WHERE id <= 3) p NATURAL JOIN jsonb_populate_recordset((SELECT NULL::patients), '[{"id":1,"dob":"1964-08-24"},{"id":2,"dob":"1932-02-22"}]') f LIMIT 1000`,
      GUESS,
    ],
    `SELECT e.id, (SELECT translate(department, '0123456789', 'abcdefghij') FROM (SELECT (c).*, p.ssn AS department FROM (SELECT 1 AS k1, 2 AS k2) c, patients p WHERE p.id = e.patient_id) s(a, b)) AS leak FROM encounters e WHERE e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT id FROM (SELECT (c).*, p.id, p.ssn FROM (SELECT 1 AS k1, 2 AS k2) c, patients p WHERE p.id <= ${ADVERSARIAL_PATIENTS} ORDER BY 4) s`,
    `SELECT p.id AS pid, (SELECT * FROM (SELECT p.ssn AS id) s) FROM patients p WHERE p.id < 8 ORDER BY id`,
    `SELECT c.v AS probe, p.id AS patient, (SELECT * FROM (SELECT coalesce(p.ssn, c.v) AS id) s) FROM patients p FULL JOIN (VALUES ('999-99-9999')) c(v) ON false WHERE p.id < 8 OR p.id IS NULL ORDER BY id`,
    `SELECT c.v AS probe, p.id AS patient, (SELECT (s).* FROM (SELECT coalesce(p.ssn, c.v) AS id) s) FROM patients p FULL JOIN (VALUES ('300-00-0000')) c(v) ON false WHERE p.id < 8 OR p.id IS NULL ORDER BY id`,
    `SELECT translate(x.c9, '0123456789', 'abcdefghij') AS v FROM (SELECT * FROM unnest(ARRAY[1], ARRAY[NULL::medications]) u, patients p WHERE p.id = 1) x(c1, c2, c3, c4, c5, c6, c7, c8, c9)`,
    `SELECT x.c11 AS v FROM (SELECT * FROM unnest('a'::tsvector) u, patients p WHERE p.id = 1) x(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11)`,
    `SELECT t.i AS dob FROM (SELECT u.*, p.id, p.id, p.id, p.dob, p.id, p.id, p.id, p.id FROM unnest(ARRAY[NULL::medications]) u, patients p WHERE p.id = 1) t(a, b, c, d, e, f, g, h, i)`,
    `SELECT t.i AS dob FROM (SELECT u.*, p.id, p.id, p.id, p.dob, p.id, p.id, p.id, p.id FROM CAST(NULL AS medications) u, patients p WHERE p.id = 1) t(a, b, c, d, e, f, g, h, i)`,
    `SELECT t.i AS dob FROM (SELECT u.*, p.id, p.id, p.id, p.dob, p.id, p.id, p.id, p.id FROM COALESCE(NULL::medications) u, patients p WHERE p.id = 1) t(a, b, c, d, e, f, g, h, i)`,
  ]),
  ...masked("shapes the analysis must not guess", [
    [
      `SELECT t.c AS ssn, t.e AS dob, t.g AS phone, t.i AS last_name, t.k AS address, t.m AS mrn FROM (SELECT u.*, 'x' || p.ssn || 'x', p.id, p.dob, p.id, 'x' || p.phone || 'x', p.id, p.last_name, p.id, p.address, p.id, 'x' || p.mrn || 'x', p.id FROM unnest(ARRAY['a'], ARRAY['b']) u, patients p WHERE p.id <= 3) t(a, b, c, d, e, f, g, h, i, j, k, l, m)`,
      { why: "as wide as PostgreSQL says, the positions land on the SSN and phone functions: nulled" },
    ],
    [
      `SELECT t.c AS ssn_head, t.e AS ssn_tail, t.g AS phone_head, t.i AS phone_tail FROM (SELECT u.*, rtrim(p.ssn, '0123456789'), p.id, ltrim(p.ssn, '0123456789'), p.id, rtrim(p.phone, '0123456789'), p.id, ltrim(p.phone, '0123456789'), p.id FROM unnest(ARRAY['a'], ARRAY['b']) u, patients p WHERE p.id <= 3) t(a, b, c, d, e, f, g, h, i)`,
      { why: "as wide as PostgreSQL says, the positions land on the SSN and phone functions: nulled" },
    ],
  ]),
  // Found by an outside attack: a union term of WITH RECURSIVE reading another CTE of the list was analyzed once,
  // before that CTE's columns were known, so its names resolved to constants (raw values in one request).
  ...deny(
    "recursive CTE reading another of its list",
    [SSN, MRN, DOB, PHONE, FIRST, LAST, ADDRESS],
    ["translate", "~~", "where", "recursive"],
    [
      `WITH RECURSIVE b AS (SELECT id, ssn, first_name, last_name, address, city, dob, phone, mrn FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS}), a AS (SELECT id AS i, translate(ssn || '|' || mrn || '|' || dob::text || '|' || coalesce(phone, ''), '0123456789', 'ABCDEFGHIJ') AS j, first_name || ' ' || last_name || ', ' || address || ', ' || city AS k FROM b WHERE ssn LIKE '5%' UNION ALL SELECT 0 AS i, 'z' AS j, 'z' AS k WHERE false) SELECT i, j, k FROM a LIMIT 3`,
      `WITH RECURSIVE a AS (SELECT id AS i, translate(ssn, '0123456789', 'ABCDEFGHIJ') AS j FROM b UNION ALL SELECT 0, 'z' WHERE false), b AS (SELECT id, ssn FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS}) SELECT i, j FROM a`,
      `WITH RECURSIVE a AS (SELECT j FROM b UNION ALL SELECT 'z' AS j WHERE false), b AS (SELECT ssn AS j FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS}) SELECT count(*) FROM a WHERE j < '300' LIMIT 1`,
      `WITH RECURSIVE b AS (SELECT ssn FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS}), a AS (SELECT ssn FROM b UNION ALL SELECT ssn FROM a WHERE ssn LIKE '3%') SELECT ssn FROM a LIMIT 1`,
    ],
  ),
  ...deny(
    "recursive CTE",
    SSN,
    ["recursive", "reverse"],
    [
      `WITH RECURSIVE r(n, s) AS (SELECT 1, ssn FROM patients WHERE id = 1 UNION ALL SELECT n + 1, reverse(s) FROM r WHERE n < 3) SELECT s FROM r`,
    ],
  ),
  ...deny(
    "recursive CTE",
    SSN,
    ["recursive"],
    [
      `WITH RECURSIVE r(n, s) AS (SELECT 1, ssn FROM patients WHERE id = 1 UNION ALL SELECT n + 1, s FROM r WHERE n < 2) SELECT s FROM r`,
      `WITH RECURSIVE r(n, a, b) AS (SELECT 1, ssn, 'x' FROM patients WHERE id = 1 UNION ALL SELECT n + 1, b, a FROM r WHERE n < 3) SELECT n FROM r`,
    ],
  ),
  ...deny(
    "recursion stopping on P",
    SSN,
    ["length", "recursive"],
    [
      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < (SELECT length(ssn) FROM patients WHERE id = 1)) SELECT count(*) FROM r",
    ],
  ),
  ...deny(
    "recursion stopping on P",
    SSN,
    ["substr", "<>", "recursive"],
    [
      "WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT r.n + 1 FROM r JOIN patients p ON p.id = 1 WHERE r.n < 11 AND substr(p.ssn, r.n + 1, 1) <> '3') SELECT max(n) FROM r",
    ],
  ),
  ...deny(
    "recursion stopping on P",
    SSN,
    ["~~", "like", "recursive"],
    [
      "WITH RECURSIVE r(n, s) AS (SELECT 1, ssn FROM patients WHERE id = 1 UNION ALL SELECT n + 1, s FROM r WHERE s LIKE '3%' AND n < 3) SELECT max(n) FROM r",
    ],
  ),
  ...deny(
    "recursion stopping on P",
    ZIP,
    ["<", "recursive", "cast"],
    [
      "WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1000 FROM r WHERE n < (SELECT zip FROM patients WHERE id = 1)::int) SELECT count(*) FROM r",
    ],
  ),
  ...deny(
    "SEARCH",
    SSN,
    ["search", "recursive"],
    [
      `WITH RECURSIVE t(n, s) AS (SELECT id, ssn ${P} UNION ALL SELECT n + 100, s FROM t WHERE n < 200) SEARCH DEPTH FIRST BY s SET ord SELECT n FROM t ORDER BY ord`,
      `WITH RECURSIVE t(n, s) AS (SELECT id, ssn ${P} UNION ALL SELECT n + 100, s FROM t WHERE n < 200) SEARCH BREADTH FIRST BY n SET ord SELECT n FROM t`,
    ],
  ),
  // ---- LIMIT / OFFSET / FETCH / TABLESAMPLE expressions ----
  ...deny(
    "LIMIT / OFFSET / TABLESAMPLE",
    SSN,
    ["limit", "substr", "cast"],
    [`SELECT id ${P} LIMIT (SELECT substr(ssn, 1, 1)::int FROM patients WHERE id = 1)`],
  ),
  ...deny(
    "LIMIT / OFFSET / TABLESAMPLE",
    SSN,
    ["offset", "limit", "substr", "cast"],
    [`SELECT id ${P} OFFSET (SELECT substr(ssn, 2, 1)::int FROM patients WHERE id = 1)`],
  ),
  ...deny(
    "LIMIT / OFFSET / TABLESAMPLE",
    EMAIL,
    ["fetch", "limit", "length"],
    [`SELECT id ${P} FETCH FIRST (SELECT length(email) FROM patients WHERE id = 1) ROWS ONLY`],
  ),
  ...deny(
    "LIMIT / OFFSET / TABLESAMPLE",
    SSN,
    ["~~", "like", "limit"],
    [`SELECT id ${P} LIMIT (SELECT count(*) FROM patients WHERE id <= 10 AND ssn LIKE '3%')`],
  ),
  ...deny(
    "LIMIT / OFFSET / TABLESAMPLE",
    ZIP,
    ["limit", "cast"],
    [`SELECT id ${P} LIMIT (SELECT zip::int % 7 FROM patients WHERE id = 1)`],
  ),
  ...deny(
    "LIMIT / OFFSET / TABLESAMPLE",
    SSN,
    ["tablesample", "repeatable", "substr", "cast"],
    [
      `SELECT id FROM patients TABLESAMPLE BERNOULLI (50) REPEATABLE ((SELECT substr(ssn, 1, 3)::int FROM patients WHERE id = 1)) WHERE id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "LIMIT / OFFSET / TABLESAMPLE",
    SSN,
    ["tablesample", "ascii"],
    [
      `SELECT id FROM patients TABLESAMPLE BERNOULLI ((SELECT ascii(ssn) - 40 FROM patients WHERE id = 1)) WHERE id <= ${ADVERSARIAL_PATIENTS}`,
      `SELECT id FROM patients TABLESAMPLE SYSTEM ((SELECT ascii(ssn) FROM patients WHERE id = 1)) WHERE id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  // ---- Set-returning function arguments ----
  ...deny(
    "set-returning argument",
    SSN,
    ["generate_series", "set-returning", "substr", "cast"],
    [
      `SELECT generate_series(1, substr(ssn, 1, 3)::int) ${P}`,
      `SELECT p.id FROM patients p, LATERAL generate_series(1, substr(p.ssn, 5, 2)::int) g WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "set-returning argument",
    EMAIL,
    ["generate_series", "set-returning", "length"],
    [
      `SELECT p.id FROM patients p, LATERAL generate_series(1, length(p.email)) g WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "set-returning argument",
    EMAIL,
    ["unnest", "string_to_array", "set-returning"],
    [`SELECT unnest(string_to_array(email, '@')) ${P}`],
  ),
  ...deny(
    "set-returning argument",
    SSN,
    ["regexp_split_to_table", "set-returning"],
    [
      `SELECT x FROM patients p CROSS JOIN LATERAL regexp_split_to_table(p.ssn, '-') x WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "set-returning argument",
    EMAIL,
    ["regexp_split_to_table", "set-returning"],
    [
      `SELECT p.id FROM patients p, regexp_split_to_table(p.email, '') c WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "set-returning argument",
    SSN,
    ["regexp_matches", "set-returning"],
    [`SELECT regexp_matches(ssn, '\\d', 'g') ${P}`],
  ),
  ...deny(
    "set-returning argument",
    SSN,
    ["string_to_table", "set-returning"],
    [`SELECT string_to_table(ssn, '-') ${P}`],
  ),
  ...deny(
    "set-returning argument",
    SSN,
    ["generate_subscripts", "string_to_array", "set-returning"],
    [`SELECT generate_subscripts(string_to_array(ssn, '-'), 1) ${P}`],
  ),
  ...deny(
    "set-returning argument",
    [SSN, MRN],
    ["unnest", "array", "set-returning"],
    [`SELECT u FROM patients p, LATERAL unnest(ARRAY[p.ssn, p.mrn]) u WHERE p.id <= ${ADVERSARIAL_PATIENTS}`],
  ),
  ...deny(
    "set-returning argument",
    SSN,
    ["jsonb_array_elements_text", "to_jsonb", "array", "set-returning"],
    [
      `SELECT s FROM patients p, LATERAL jsonb_array_elements_text(to_jsonb(ARRAY[p.ssn])) s WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "set-returning argument",
    SSN,
    ["jsonb_each_text", "jsonb_build_object", "set-returning"],
    [
      `SELECT j.value FROM patients p, LATERAL jsonb_each_text(jsonb_build_object('s', p.ssn)) j WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "set-returning argument",
    DOB,
    ["generate_series", "+", "set-returning"],
    [`SELECT generate_series(dob, dob + 3, '1 day') ${P}`],
  ),
  ...deny(
    "set-returning argument",
    SSN,
    ["xmltable", "xmlparse", "replace", "||"],
    [
      `SELECT p.id FROM patients p, XMLTABLE('/a/b' PASSING xmlparse(document '<a><b>' || replace(p.ssn, '-', '</b><b>') || '</b></a>') COLUMNS x text PATH '.') x WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
];
