// The forms the opacity rules keep working: lookups by MRN, null tests, equi-joins, count, plain columns, the README and reports.

import {
  ADVERSARIAL_PATIENTS,
  allowed,
  approval,
  DOB,
  deny,
  E,
  EE,
  EMAIL,
  GUESS,
  masked,
  mrnLiterals,
  ONE,
  P,
  PP,
  SSN,
  TWO,
  ZIP,
} from "#test/support/adversarial/build.ts";
import type { AdversarialStatement } from "#test/support/adversarial/types.ts";

/** The bench's report query (bench/sql.ts), restricted to the first patients. */
const REPORT_QUERY = `WITH recent AS (
  SELECT e.patient_id, count(*) AS visits, max(e.admitted_at) AS last_visit,
         string_agg(DISTINCT e.department, ',') AS depts
  FROM encounters e
  WHERE e.admitted_at >= now() - interval '1 year' AND e.discharged_at IS NOT NULL
  GROUP BY e.patient_id
  HAVING count(*) > 1
), meds AS (
  SELECT m.patient_id, count(DISTINCT m.drug) AS n
  FROM medications m WHERE m.started_at > current_date - 180
  GROUP BY 1
)
SELECT p.id, upper(p.last_name) || ', ' || p.first_name AS name,
       date_part('year', age(p.dob)) AS age, r.visits, r.last_visit,
       coalesce(md.n, 0) AS drugs
FROM patients p
JOIN recent r ON r.patient_id = p.id
LEFT JOIN meds md ON md.patient_id = p.id
WHERE p.state IN ('CA', 'NY') AND p.sex = 'F' AND p.id <= ${ADVERSARIAL_PATIENTS}
ORDER BY r.visits DESC
LIMIT 100`;

/** The same report written to the opacity rules: identifiers selected (masked), counts computed on plain columns. */
const OPAQUE_REPORT_QUERY = `WITH recent AS (
  SELECT e.patient_id, count(*) AS visits, count(DISTINCT e.department) AS departments
  FROM encounters e
  WHERE e.patient_id <= ${ADVERSARIAL_PATIENTS} AND e.discharged_at IS NOT NULL
  GROUP BY e.patient_id
  HAVING count(*) > 1
), meds AS (
  SELECT m.patient_id, count(DISTINCT m.drug) AS n FROM medications m
  WHERE m.patient_id <= ${ADVERSARIAL_PATIENTS} GROUP BY 1
)
SELECT p.id, p.mrn, upper(p.last_name) || ', ' || p.first_name AS name, p.dob, r.visits,
       coalesce(md.n, 0) AS drugs
FROM patients p
JOIN recent r ON r.patient_id = p.id
LEFT JOIN meds md ON md.patient_id = p.id
WHERE p.sex IN ('F', 'M', 'X')
ORDER BY r.visits DESC, p.id
LIMIT 100`;

/** The allowed forms (and the near misses next to them), with the README tour, the demo report and the export. */
export const KEPT_STATEMENTS: readonly AdversarialStatement[] = [
  // ---- Lookups that must keep working (the demo policy allows lookups by MRN) ----
  ...allowed("lookup by MRN", [
    [`SELECT id FROM patients WHERE mrn = '${ONE.mrn}'`, GUESS],
    [`SELECT id FROM patients WHERE '${ONE.mrn}' = mrn`, GUESS],
    [`SELECT id FROM patients WHERE mrn IN ('${ONE.mrn}', '${TWO.mrn}')`, GUESS],
    [`SELECT id FROM patients WHERE mrn = ANY (ARRAY['${ONE.mrn}', '${TWO.mrn}'])`, GUESS],
    [`SELECT id FROM patients WHERE mrn = $1`, { params: [ONE.mrn], guess: true }],
    [`SELECT id FROM patients WHERE mrn IN ($1, $2)`, { params: [ONE.mrn, TWO.mrn], guess: true }],
    [`SELECT id FROM patients WHERE mrn = ANY (ARRAY[$1, $2])`, { params: [ONE.mrn, TWO.mrn], guess: true }],
    [`SELECT id FROM patients WHERE mrn = '${ONE.mrn}'::text`, GUESS],
    [`SELECT id FROM patients WHERE mrn = $1::text`, { params: [ONE.mrn], guess: true }],
    "SELECT id FROM patients WHERE mrn = 'MRN-0000000'",
    [`SELECT id FROM patients WHERE mrn = '${ONE.mrn}' AND id <= ${ADVERSARIAL_PATIENTS}`, GUESS],
    [
      `SELECT e.id, e.department FROM encounters e JOIN patients p ON p.id = e.patient_id WHERE p.mrn = '${ONE.mrn}' AND e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
      GUESS,
    ],
    [
      `SELECT e.id FROM encounters e JOIN patients p ON p.id = e.patient_id AND p.mrn = '${ONE.mrn}' WHERE e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
      { ...GUESS, why: "a lookup in an INNER join's ON" },
    ],
    [`SELECT id FROM (SELECT id, mrn ${P}) s WHERE s.mrn = '${ONE.mrn}'`, GUESS],
    [`WITH c AS (SELECT id, mrn ${P}) SELECT id FROM c WHERE mrn = '${ONE.mrn}'`, GUESS],
    [`SELECT a FROM patients AS p(a, m) WHERE m = '${ONE.mrn}'`, GUESS],
    [
      `SELECT count(*) FROM patients WHERE mrn IN (${mrnLiterals(100)})`,
      { ...GUESS, why: "exactly 100 literals" },
    ],
    [`SELECT (SELECT id FROM patients WHERE mrn = '${ONE.mrn}')`, GUESS],
    [
      `SELECT e.id FROM encounters e, LATERAL (SELECT 1 FROM patients p WHERE p.id = e.patient_id AND p.mrn = '${ONE.mrn}') l WHERE e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
      GUESS,
    ],
    [`SELECT id ${E} AND patient_id IN (SELECT id FROM patients WHERE mrn = '${ONE.mrn}')`, GUESS],
    [
      `SELECT e.id ${EE} AND EXISTS (SELECT 1 FROM patients p WHERE p.id = e.patient_id AND p.mrn = '${ONE.mrn}')`,
      {
        ...GUESS,
        why: "unsure: EXISTS correlated on a plain column, with a lookup inside (an allowed form)",
      },
    ],
    [
      `SELECT id FROM patients WHERE mrn = '${ONE.mrn}' UNION ALL SELECT patient_id FROM encounters WHERE patient_id = 2`,
      GUESS,
    ],
  ]),
  ...masked("lookup by MRN", [
    [`SELECT id, mrn, ssn FROM patients WHERE mrn = '${ONE.mrn}'`, GUESS],
    [`SELECT first_name, last_name, dob FROM patients WHERE mrn = $1`, { params: [TWO.mrn], guess: true }],
    [
      `SELECT p.mrn, e.notes FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.mrn IN ('${ONE.mrn}', '${TWO.mrn}') AND e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
      GUESS,
    ],
  ]),
  // ---- Null tests ----
  ...allowed("null test", [
    `SELECT id ${P} AND email IS NULL`,
    `SELECT id ${P} AND phone IS NOT NULL`,
    `SELECT id ${P} AND NOT (phone IS NULL)`,
    `SELECT id ${P} AND email ISNULL`,
    `SELECT id ${P} AND phone NOTNULL`,
    [`SELECT id, email IS NULL ${P}`, { why: "unsure: a null test's result is not P-derived (spec rule 3)" }],
    `SELECT count(*) FILTER (WHERE phone IS NULL) ${P}`,
    `SELECT CASE WHEN email IS NULL THEN 'no email' ELSE 'email' END ${P}`,
    [
      `SELECT id ${P} ORDER BY phone IS NULL, id`,
      { why: "unsure: a null test 'anywhere', here in ORDER BY" },
    ],
    [
      `SELECT email IS NULL, count(*) ${P} GROUP BY email IS NULL`,
      { why: "unsure: a null test 'anywhere', here in GROUP BY" },
    ],
    `SELECT p.id, e.id FROM patients p LEFT JOIN (SELECT * ${E}) e ON e.patient_id = p.id AND p.phone IS NOT NULL WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT state, count(*) ${P} GROUP BY state HAVING count(*) FILTER (WHERE email IS NULL) >= 0`,
  ]),
  ...deny(
    "null test",
    SSN,
    ["distinct"],
    [
      [
        `SELECT id ${P} AND ssn IS DISTINCT FROM NULL`,
        { why: "unsure: semantically IS NOT NULL, but not the null-test shape; the safe answer" },
      ],
    ],
  ),
  ...deny("null test", SSN, ["num_nulls"], [`SELECT id ${P} AND num_nulls(ssn) = 0`]),
  // ---- Equi-joins on the same protected column ----
  ...allowed("equi-join", [
    `SELECT p.id FROM patients p JOIN patients q USING (mrn) WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT id FROM patients NATURAL JOIN (SELECT id, mrn ${P}) q`,
    `SELECT p.id FROM patients p, patients q WHERE p.mrn = q.mrn AND p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT p.id, q.id FROM patients p LEFT JOIN patients q ON q.mrn = p.mrn AND q.id <> p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT p.id FROM patients p JOIN (SELECT mrn FROM patients WHERE id <= 20) s ON s.mrn = p.mrn WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `WITH s AS (SELECT mrn FROM patients WHERE id <= 3) SELECT p.id FROM patients p JOIN s ON s.mrn = p.mrn`,
    [
      `SELECT p.id ${PP} AND EXISTS (SELECT 1 FROM patients q WHERE q.mrn = p.mrn AND q.id <> p.id)`,
      { why: "EXISTS correlated on an equi-join (an allowed form)" },
    ],
  ]),
  ...masked("equi-join", [
    `SELECT p.mrn, q.mrn FROM patients p JOIN patients q ON q.mrn = p.mrn WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT mrn, p.ssn FROM patients p JOIN patients q USING (mrn) WHERE p.id <= 3`,
  ]),
  // Found by an outside attack: joining on a column the policy does not type revealed who shares a redacted
  // city, an exact birth date, an address — equality the masking does not show. Only typed columns join.
  ...deny(
    "equi-join of an untyped column",
    [SSN, "public.patients.city", DOB, EMAIL, ZIP],
    ["join"],
    [
      `SELECT p.id, q.id FROM patients p JOIN patients q ON q.ssn = p.ssn WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
      `SELECT b.id FROM patients a JOIN patients b USING (city) WHERE a.id = 1 LIMIT 1000`,
      `SELECT a.id, b.id FROM patients a JOIN patients b ON a.dob = b.dob AND a.id <> b.id WHERE a.id <= 3`,
      `SELECT p.id, q.id FROM (SELECT * ${P}) p FULL JOIN (SELECT * FROM patients WHERE id <= 3) q ON q.email = p.email`,
      `SELECT p.id, q.id FROM patients p CROSS JOIN patients q WHERE p.zip = q.zip AND p.id <= 3 AND q.id <= 3`,
    ],
  ),
  // ---- count ----
  ...allowed("count", [
    `SELECT count(ssn) ${P}`,
    `SELECT count(*) ${P}`,
    `SELECT count(email), count(phone) ${P}`,
    `SELECT count(ssn) FILTER (WHERE id < 5) ${P}`,
    `SELECT state, count(*) ${P} GROUP BY state HAVING count(ssn) > 0`,
  ]),
  // ---- Plain columns only (controls: nothing protected is used) ----
  ...allowed("no protected column", [
    "SELECT id, department FROM encounters LIMIT 5",
    "SELECT id FROM encounters LIMIT 1",
    `SELECT department, count(*) ${E} GROUP BY department ORDER BY count(*) DESC, department`,
    `SELECT DISTINCT department ${E}`,
    `SELECT DISTINCT state ${P}`,
    `SELECT state, sex, count(*) ${P} GROUP BY ROLLUP (state, sex)`,
    `SELECT id ${P} ORDER BY state, id`,
    `SELECT state ${P} UNION SELECT department ${E}`,
    `SELECT id ${P} INTERSECT SELECT patient_id ${E}`,
    "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(n, s)",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n % 3 + 1 FROM r) CYCLE n SET c USING path SELECT count(*) FROM r",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SEARCH DEPTH FIRST BY n SET ord SELECT n FROM r ORDER BY ord",
    `SELECT m.drug, count(*) FROM medications m WHERE m.patient_id <= ${ADVERSARIAL_PATIENTS} GROUP BY m.drug`,
    `SELECT id, generate_series(1, 3) ${P} LIMIT 5`,
    `SELECT id ${P} AND id > (SELECT count(*) FROM encounters WHERE patient_id = 1) LIMIT (SELECT count(*) FROM encounters WHERE patient_id = 2)`,
    `SELECT id, 1 / id ${P}`,
  ]),
  // ---- The README tour, the demo report and the export ----
  ...masked("README, reports and exports", [
    OPAQUE_REPORT_QUERY,
    `SELECT e.id, e.patient_id, e.admitted_at, e.discharged_at, e.department, e.diagnosis_code, e.notes, p.mrn, p.dob, p.zip FROM encounters e JOIN patients p ON p.id = e.patient_id WHERE p.id <= ${ADVERSARIAL_PATIENTS} AND e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
  ]),
  ...deny(
    "README, reports and exports",
    [DOB, "public.encounters.admitted_at"],
    ["age", "date_part", "max", ">="],
    [[REPORT_QUERY, { why: "bench/sql.ts's report computes age(dob): not a total operation" }]],
  ),
  // A count over a join is a sum weighted by how often each row repeats (the tenth outside attack's twelve patients'
  // bits per cell): its rows cannot count its PHI rows.
  ...approval("count", [
    `SELECT p.id, count(e.id) FROM patients p LEFT JOIN (SELECT * ${E}) e ON e.patient_id = p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS} GROUP BY p.id`,
    `SELECT p.id, p.mrn, count(e.id) AS visits FROM patients p LEFT JOIN (SELECT * ${E}) e ON e.patient_id = p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS} GROUP BY p.id ORDER BY visits DESC, p.id`,
  ]),
  // A window over a PHI table's rows may fold many of them into one cell: its rows cannot count its PHI rows.
  ...approval("windows over a PHI table", [
    `SELECT ssn, row_number() OVER (ORDER BY id) ${P}`,
    `SELECT id, row_number() OVER (PARTITION BY state ORDER BY id) ${P}`,
  ]),
  ...approval("README, reports and exports", [
    `SELECT p.*, e.* FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT id, mrn, ssn, first_name, last_name, dob, sex, zip, phone, email, city FROM patients WHERE id BETWEEN 1 AND ${ADVERSARIAL_PATIENTS}`,
    `SELECT * ${P}`,
    `SELECT id, ssn, mrn, first_name, last_name, dob, zip, phone ${P}`,
    "SELECT ssn FROM patients",
    "TABLE patients",
  ]),
];
