// The adversarial statements of issue 13 (protected values are opaque): every class of the opacity spec's deny list
// and the allowed forms that must keep working, each restricted to patients 1..ADVERSARIAL_PATIENTS.

import { firstPatients } from "#test/support/leak-forms.ts";

/**
 * How the gateway must answer a statement: `masked` 200 with at least one masked column, `allowed` 200 with no
 * masked column, `denied` 403 `policy_denied`, `approval` 202 (and, once approved, a masked result).
 */
export type AdversarialOutcome = "masked" | "denied" | "approval" | "allowed";

/** What a denial's reason must name: one of `columns` (or the table, for whole rows) and one of `constructs`. */
export interface DenialNames {
  /** Qualified protected columns (`public.patients.ssn`) or tables (`public.patients`); any one will do. */
  readonly columns: readonly string[];
  /** Words naming the construct, matched case-insensitively; any one will do. */
  readonly constructs: readonly string[];
}

/** One adversarial statement. */
export interface AdversarialStatement {
  readonly category: string;
  readonly sql: string;
  readonly params?: readonly unknown[];
  readonly expect: AdversarialOutcome;
  /** Why this expectation (statements whose expectation the spec leaves open start with `unsure:`). */
  readonly why?: string;
  /** The statement fails at run time when executed directly (an error oracle, a failing cast). */
  readonly errors?: true;
  /** The SQL or its parameters hold protected values on purpose (lookups, guesses): their echo is not a leak. */
  readonly guess?: true;
  /** For a denial by the opacity rule: what its reason must name. Absent for denials by other rules. */
  readonly names?: DenialNames;
}

/** Statements read patients with ids 1..ADVERSARIAL_PATIENTS (and their encounters and medications) only. */
export const ADVERSARIAL_PATIENTS = 10;

const [first, second] = firstPatients(2);
if (first === undefined || second === undefined) throw new Error("the generator made no patients");
/** Patient 1's values, for lookups and guess-confirmation probes. */
const ONE = first;
const TWO = second;

const P = `FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS}`;
const PP = `FROM patients p WHERE p.id <= ${ADVERSARIAL_PATIENTS}`;
const E = `FROM encounters WHERE patient_id <= ${ADVERSARIAL_PATIENTS}`;
const EE = `FROM encounters e WHERE e.patient_id <= ${ADVERSARIAL_PATIENTS}`;

const col = (name: string) => `public.patients.${name}`;
const SSN = col("ssn");
const MRN = col("mrn");
const FIRST = col("first_name");
const LAST = col("last_name");
const DOB = col("dob");
const ZIP = col("zip");
const PHONE = col("phone");
const EMAIL = col("email");
const ADDRESS = col("address");
const NOTES = "public.encounters.notes";
const PATIENTS = "public.patients";
const ENCOUNTERS = "public.encounters";

/** A statement, or a statement with its extra fields. */
type Entry = string | readonly [string, Omit<AdversarialStatement, "category" | "sql" | "expect" | "names">];

function entries(
  category: string,
  expect: AdversarialOutcome,
  list: readonly Entry[],
  names?: DenialNames,
): AdversarialStatement[] {
  return list.map((entry) => {
    const [sql, extra] = typeof entry === "string" ? [entry, {}] : entry;
    return { category, sql, expect, ...extra, ...(names === undefined ? {} : { names }) };
  });
}

/** Statements the opacity rule must deny, naming one of `columns` and one of `constructs`. */
function deny(
  category: string,
  columns: string | readonly string[],
  constructs: readonly string[],
  list: readonly Entry[],
): AdversarialStatement[] {
  return entries(category, "denied", list, {
    columns: typeof columns === "string" ? [columns] : columns,
    constructs,
  });
}

/** Denials of single constructs: `[construct, column, sql]` (`like` also accepts `~~`, the operator's name). */
function functions(
  category: string,
  rows: readonly (readonly [string, string, string])[],
): AdversarialStatement[] {
  return rows.flatMap(([construct, column, sql]) =>
    deny(category, column, construct === "like" ? ["~~", "like"] : [construct], [sql]),
  );
}

const masked = (category: string, list: readonly Entry[]) => entries(category, "masked", list);
const allowed = (category: string, list: readonly Entry[]) => entries(category, "allowed", list);
const approval = (category: string, list: readonly Entry[]) => entries(category, "approval", list);
/** Denied by a rule other than opacity (grants, kind, always-denied functions): only the outcome is checked. */
const deniedOther = (category: string, list: readonly Entry[]) => entries(category, "denied", list);

const CAST = ["cast", "::"];
const GUESS = { guess: true } as const;

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

/** `n` MRN-shaped literals for lookups, patient 1's first (the rest match nobody). */
function mrnLiterals(n: number): string {
  const fakes = Array.from({ length: n - 1 }, (_, i) => `'MRN-00${String(i).padStart(5, "0")}'`);
  return [`'${ONE.mrn}'`, ...fakes].join(", ");
}

/** Every statement of the suite (valid on PGlite and PostgreSQL 15 alike). */
export const ADVERSARIAL_STATEMENTS: readonly AdversarialStatement[] = [
  // ---- Output: plain copies keep their rule ----
  ...masked("plain masked read", [
    `SELECT id, ssn ${P}`,
    `SELECT id, mrn, first_name, last_name ${P}`,
    `SELECT dob, zip ${P}`,
    `SELECT phone, email, address ${P}`,
    `SELECT p.ssn FROM public.patients p WHERE p.id IN (1, 2, 3)`,
    `SELECT "ssn", "mrn" FROM "public"."patients" WHERE "id" <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT ssn AS id, mrn AS "public.patients.id" ${P}`,
    `SELECT ssn ${P} LIMIT 5`,
    `SELECT id, ssn ${P} ORDER BY id`,
    `SELECT mrn, state ${P} ORDER BY state, id`,
    [`SELECT ssn FROM patients WHERE id = $1`, { params: [1] }],
    "SELECT id, ssn, mrn, dob, zip, phone FROM patients ORDER BY id LIMIT 3",
    `SELECT p.mrn, e.department FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS} AND e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT p.ssn, e.notes FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS} AND e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT ssn, row_number() OVER (ORDER BY id) ${P}`,
    `SELECT ssn, generate_series(1, 2) ${P}`,
    `SELECT ssn ${P} AND email IS NOT NULL`,
    `SELECT id, ssn FROM patients TABLESAMPLE BERNOULLI (50) REPEATABLE (7) WHERE id <= ${ADVERSARIAL_PATIENTS}`,
    [`SELECT id, ssn ${P} LIMIT $1 OFFSET $2`, { params: [3, 1] }],
  ]),
  ...masked("copy through CTE, subquery, alias", [
    `WITH c AS (SELECT id, ssn AS s ${P}) SELECT s FROM c`,
    `WITH a AS (SELECT ssn ${P}), b AS (SELECT ssn AS x FROM a) SELECT x FROM b`,
    `WITH c(x, y) AS (SELECT id, ssn ${P}) SELECT y FROM c`,
    `WITH x AS MATERIALIZED (SELECT ssn, mrn ${P}) SELECT * FROM x`,
    `SELECT t.x FROM (SELECT ssn AS x ${P}) t`,
    `SELECT x FROM (SELECT id, ssn ${P}) AS t(i, x)`,
    `SELECT t.email FROM (SELECT email FROM (SELECT email ${P}) i) t`,
    `SELECT U&"s\\0073n" ${P}`,
    `SELECT c FROM patients AS p(a, b, c) WHERE a <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT t.ssn FROM (TABLE patients) t WHERE t.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT l.s FROM patients p, LATERAL (SELECT p.ssn AS s) l WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT t.* FROM patients p, LATERAL (SELECT p.first_name, p.last_name) t WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT v.x, p.ssn FROM (VALUES (1), (2)) v(x) JOIN patients p ON p.id = v.x WHERE p.id <= 2`,
    `SELECT v.label, p.mrn FROM patients p, (VALUES ('a'), ('b')) v(label) WHERE p.id <= 3`,
    [
      "SELECT (SELECT ssn FROM patients WHERE id = 1), (SELECT email FROM patients WHERE id = 2)",
      { why: "unsure: a scalar subquery is a copy 'through subqueries' (spec rule 2); masked, not denied" },
    ],
    [
      `SELECT id, (SELECT p2.email FROM patients p2 WHERE p2.id = p.id) ${PP}`,
      { why: "unsure: a correlated scalar subquery copying a column is treated as a copy" },
    ],
    [
      `SELECT v.x FROM patients p, LATERAL (VALUES (p.ssn)) v(x) WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
      { why: "unsure: the spec denies multi-row VALUES carrying P; a single-row VALUES is read as a copy" },
    ],
    [
      `SELECT DISTINCT ON (id) id, ssn ${P} ORDER BY id`,
      { why: "unsure: DISTINCT ON a plain column compares no protected value; ssn is only output" },
    ],
    `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT p.ssn, r.n FROM patients p JOIN r ON r.n = p.id WHERE p.id <= 3`,
  ]),
  // ---- Output: total operations are nulled ----
  ...masked("total operation (nulled)", [
    `SELECT upper(ssn) ${P}`,
    `SELECT lower(email) ${P}`,
    `SELECT btrim(' ' || last_name || ' ') ${P}`,
    `SELECT ltrim(ssn, '0123') ${P}`,
    `SELECT rtrim(zip, '9') ${P}`,
    `SELECT trim(both '0' from zip) ${P}`,
    `SELECT concat(ssn, '') ${P}`,
    `SELECT concat_ws(',', id, ssn, state) ${P}`,
    `SELECT concat(dob, zip) ${P}`,
    `SELECT ssn || '' ${P}`,
    `SELECT '' || mrn ${P}`,
    `SELECT ssn || city ${P}`,
    `SELECT first_name || ' ' || last_name ${P}`,
    `SELECT id::text || '/' || mrn ${P}`,
    `SELECT coalesce(email, phone) ${P}`,
    `SELECT coalesce(NULL, ssn) ${P}`,
    `SELECT coalesce(ssn, 'n/a') ${P}`,
    `SELECT ssn::text ${P}`,
    `SELECT dob::text ${P}`,
    `SELECT dob::varchar ${P}`,
    `SELECT ssn::varchar ${P}`,
    `SELECT CAST(phone AS varchar(20)) ${P}`,
    `SELECT ssn::varchar(3) ${P}`,
    `SELECT address::name ${P}`,
    `SELECT zip::char(3) ${P}`,
    `SELECT upper(lower(ssn)) ${P}`,
    `SELECT upper(mrn) || lower(first_name) ${P}`,
    `SELECT CASE WHEN id = 1 THEN ssn ELSE mrn END ${P}`,
    `SELECT CASE id WHEN 1 THEN ssn END ${P}`,
    `SELECT CASE WHEN ssn IS NOT NULL THEN ssn END ${P}`,
    [
      `SELECT CASE WHEN id = 1 THEN mrn ELSE '${ONE.mrn}' END ${P}`,
      { ...GUESS, why: "tokenize oracle: nulled" },
    ],
    [`SELECT coalesce(mrn, '${ONE.mrn}') ${P}`, GUESS],
    [
      `SELECT pg_catalog.upper(ssn) ${P}`,
      { why: "unsure: the schema-qualified built-in upper is function:upper" },
    ],
    [
      `SELECT ssn OPERATOR(pg_catalog.||) '' ${P}`,
      { why: "unsure: the schema-qualified built-in || is operator:||" },
    ],
    `SELECT x FROM patients p CROSS JOIN LATERAL (SELECT upper(p.ssn)) l(x) WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `WITH c AS (SELECT lower(email) AS e ${P}) SELECT e FROM c`,
  ]),
  // ---- Derived expressions: every other function or operator applied to P ----
  ...functions("derived: function", [
    ["substr", SSN, `SELECT substr(ssn, 1, 3) ${P}`],
    ["substring", MRN, `SELECT substring(mrn from 5) ${P}`],
    ["left", SSN, `SELECT left(ssn, 6) ${P}`],
    ["right", PHONE, `SELECT right(phone, 8) ${P}`],
    ["reverse", SSN, `SELECT reverse(ssn) ${P}`],
    ["replace", SSN, `SELECT replace(ssn, '-', '') ${P}`],
    ["translate", SSN, `SELECT translate(ssn, '0123456789', 'abcdefghij') ${P}`],
    ["split_part", EMAIL, `SELECT split_part(email, '@', 1) ${P}`],
    ["regexp_replace", PHONE, `SELECT regexp_replace(phone, '\\D', '', 'g') ${P}`],
    ["format", SSN, `SELECT format('%s', ssn) ${P}`],
    ["overlay", SSN, `SELECT overlay(ssn placing 'x' from 1 for 0) ${P}`],
    ["lpad", ZIP, `SELECT lpad(zip, 9, '0') ${P}`],
    ["rpad", FIRST, `SELECT rpad(first_name, 20, '.') ${P}`],
    ["initcap", LAST, `SELECT initcap(last_name) ${P}`],
    ["length", SSN, `SELECT length(ssn) ${P}`],
    ["length", LAST, `SELECT char_length(last_name) ${P}`],
    ["octet_length", ADDRESS, `SELECT octet_length(address) ${P}`],
    ["bit_length", EMAIL, `SELECT bit_length(email) ${P}`],
    ["ascii", LAST, `SELECT ascii(last_name) ${P}`],
    ["ascii", FIRST, `SELECT chr(ascii(first_name)) ${P}`],
    ["md5", SSN, `SELECT md5(ssn) ${P}`],
    ["convert_to", SSN, `SELECT sha256(convert_to(ssn, 'UTF8')) ${P}`],
    ["hashtext", SSN, `SELECT hashtext(ssn) ${P}`],
    ["convert_to", SSN, `SELECT encode(convert_to(ssn, 'UTF8'), 'base64') ${P}`],
    ["md5", SSN, `SELECT decode(md5(ssn), 'hex') ${P}`],
    ["quote_literal", SSN, `SELECT quote_literal(ssn) ${P}`],
    ["quote_ident", FIRST, `SELECT quote_ident(first_name) ${P}`],
    ["repeat", ZIP, `SELECT repeat(zip, 2) ${P}`],
    ["position", SSN, `SELECT position('3' in ssn) ${P}`],
    ["strpos", SSN, `SELECT strpos(ssn, '3') ${P}`],
    ["to_char", DOB, `SELECT to_char(dob, 'YYYYMMDD') ${P}`],
    ["date_part", DOB, `SELECT date_part('year', dob) ${P}`],
    ["extract", DOB, `SELECT extract(month from dob) ${P}`],
    ["age", DOB, `SELECT age(dob) ${P}`],
    ["date_trunc", DOB, `SELECT date_trunc('month', dob) ${P}`],
    ["string_to_array", SSN, `SELECT string_to_array(ssn, '-') ${P}`],
    ["string_to_array", SSN, `SELECT (string_to_array(ssn, '-'))[1] ${P}`],
    ["regexp_split_to_array", EMAIL, `SELECT regexp_split_to_array(email, '@') ${P}`],
    ["to_tsvector", EMAIL, `SELECT to_tsvector('simple', email) ${P}`],
    ["normalize", LAST, `SELECT normalize(last_name) ${P}`],
    ["pg_column_size", SSN, `SELECT pg_column_size(ssn) ${P}`],
    ["regexp_count", SSN, `SELECT regexp_count(ssn, '3') ${P}`],
    ["regexp_substr", SSN, `SELECT regexp_substr(ssn, '\\d+') ${P}`],
    ["regexp_instr", SSN, `SELECT regexp_instr(ssn, '3') ${P}`],
    ["convert_to", ADDRESS, `SELECT bit_count(convert_to(address, 'UTF8')) ${P}`],
    ["nullif", SSN, `SELECT nullif(ssn, '') ${P}`],
    ["greatest", DOB, `SELECT greatest(dob, '2000-01-01') ${P}`],
    ["least", FIRST, `SELECT least(first_name, 'M') ${P}`],
    ["num_nonnulls", SSN, `SELECT num_nonnulls(ssn) ${P}`],
    ["pg_typeof", SSN, `SELECT pg_typeof(ssn) ${P}`],
    ["to_regclass", FIRST, `SELECT to_regclass(first_name) ${P}`],
    ["substr", SSN, `SELECT substr(upper(ssn), 1, 3) ${P}`],
    ["substr", SSN, `SELECT upper(substr(ssn, 1, 3)) ${P}`],
    ["substr", SSN, `WITH c AS (SELECT substr(ssn, 1, 3) AS s ${P}) SELECT s FROM c`],
    ["substr", SSN, `SELECT s FROM patients p, LATERAL (SELECT substr(p.ssn, 4, 2)) l(s) WHERE p.id <= 10`],
  ]),
  ...deny("derived: operator", DOB, ["+", "operator"], [`SELECT dob + 1 ${P}`]),
  ...deny("derived: operator", DOB, ["-", "operator"], [`SELECT dob - date '1900-01-01' ${P}`]),
  ...deny("derived: operator", SSN, [">", "operator"], [`SELECT ssn > '4' ${P}`]),
  ...deny("derived: operator", SSN, ["=", "operator"], [`SELECT ssn = mrn ${P}`]),
  ...deny("derived: operator", EMAIL, ["~~", "like"], [`SELECT email LIKE '%.org' ${P}`]),
  ...deny("derived: operator", SSN, ["distinct", "operator"], [`SELECT ssn IS DISTINCT FROM mrn ${P}`]),
  ...deny(
    "derived: operator",
    SSN,
    ["collate"],
    [[`SELECT ssn COLLATE "C" ${P}`, { why: "unsure: COLLATE is not in the allow-list (spec silent)" }]],
  ),
  ...deny("derived: array or row", SSN, ["array"], [`SELECT ARRAY[ssn] ${P}`, `SELECT (ARRAY[ssn])[1] ${P}`]),
  ...deny("derived: array or row", [EMAIL, PHONE], ["array"], [`SELECT ARRAY[email, phone] ${P}`]),
  ...deny(
    "derived: array or row",
    [SSN, MRN],
    ["array"],
    [`SELECT array_to_string(ARRAY[ssn, mrn], ',') ${P}`],
  ),
  ...deny("derived: array or row", SSN, ["row"], [`SELECT ROW(ssn) ${P}`, `SELECT (ssn, id) ${P}`]),
  ...deny("derived: array or row", SSN, ["array"], [`SELECT ARRAY(SELECT ssn ${P})`]),
  // ---- Casts other than to text types ----
  ...deny("cast", SSN, CAST, [[`SELECT ssn::int ${P}`, { errors: true }]]),
  ...deny("cast", ZIP, CAST, [
    `SELECT zip::int ${P}`,
    `SELECT zip::numeric ${P}`,
    `SELECT zip::bigint ${P}`,
    `SELECT CAST(zip AS integer) ${P}`,
    `SELECT zip::float8 ${P}`,
    `SELECT zip::int::bool ${P}`,
  ]),
  ...deny("cast", PHONE, CAST, [[`SELECT phone::bigint ${P}`, { errors: true }]]),
  ...deny("cast", MRN, CAST, [`SELECT mrn::bytea ${P}`, [`SELECT mrn::uuid ${P}`, { errors: true }]]),
  ...deny("cast", DOB, CAST, [
    `SELECT dob::timestamp ${P}`,
    `SELECT dob::timestamptz ${P}`,
    `SELECT dob::text::date ${P}`,
    [
      `SELECT dob::date ${P}`,
      { why: "unsure: a cast to the column's own type is still not in the allow-list" },
    ],
  ]),
  ...deny("cast", SSN, CAST, [
    [`SELECT ssn::date ${P}`, { errors: true }],
    [`SELECT ssn::text::int ${P}`, { errors: true }],
    `SELECT ssn::xml ${P}`,
  ]),
  ...deny("cast", EMAIL, CAST, [[`SELECT email::json ${P}`, { errors: true }]]),
  ...deny("cast", SSN, CAST, [[`SELECT ssn::inet ${P}`, { errors: true }]]),
  // ---- CASE conditions ----
  ...deny(
    "CASE condition",
    SSN,
    ["case", "~~", "like"],
    [`SELECT CASE WHEN ssn LIKE '3%' THEN 'three' ELSE 'other' END ${P}`],
  ),
  ...deny(
    "CASE condition",
    SSN,
    ["case", "="],
    [
      [`SELECT CASE ssn WHEN '${ONE.ssn}' THEN 1 ELSE 0 END ${P}`, GUESS],
      [`SELECT CASE WHEN ssn = '${ONE.ssn}' THEN 1 ELSE 0 END ${P}`, GUESS],
    ],
  ),
  ...deny(
    "CASE condition",
    MRN,
    ["case", "=", "lookup"],
    [
      [
        `SELECT CASE WHEN mrn = '${ONE.mrn}' THEN 'hit' END ${P}`,
        { ...GUESS, why: "a lookup shape in a CASE condition is not a lookup position" },
      ],
    ],
  ),
  ...deny("CASE condition", DOB, ["case", "<"], [`SELECT CASE WHEN dob < '1970-01-01' THEN 'old' END ${P}`]),
  ...deny(
    "CASE condition",
    EMAIL,
    ["case", "length"],
    [`SELECT CASE WHEN length(email) > 20 THEN 'long' END ${P}`],
  ),
  ...deny(
    "CASE condition",
    SSN,
    ["case", "substr"],
    [`SELECT CASE substr(ssn, 1, 1) WHEN '3' THEN 'three' END ${P}`],
  ),
  ...deny(
    "CASE condition",
    ZIP,
    ["case", "between", ">=", "<="],
    [`SELECT CASE WHEN zip BETWEEN '10000' AND '50000' THEN 'east' END ${P}`],
  ),
  ...deny(
    "CASE condition",
    [FIRST, LAST],
    ["case", "="],
    [`SELECT CASE WHEN first_name = last_name THEN 'same' END ${P}`],
  ),
  // ---- Predicates in WHERE ----
  ...deny(
    "predicate: WHERE",
    SSN,
    ["~~", "like"],
    [
      `SELECT id ${P} AND ssn LIKE '3%'`,
      `SELECT id ${P} AND ssn NOT LIKE '3%'`,
      [`SELECT id ${P} AND ssn LIKE $1`, { params: ["3%"] }],
    ],
  ),
  ...deny("predicate: WHERE", EMAIL, ["~~*", "ilike"], [`SELECT id ${P} AND email ILIKE 'n%'`]),
  ...deny(
    "predicate: WHERE",
    SSN,
    ["~", "regex"],
    [`SELECT id ${P} AND ssn ~ '^3'`, `SELECT id ${P} AND ssn ~* '^3'`],
  ),
  ...deny("predicate: WHERE", SSN, ["similar", "~"], [`SELECT id ${P} AND ssn SIMILAR TO '3%'`]),
  ...deny("predicate: WHERE", SSN, ["<", "operator"], [`SELECT id ${P} AND ssn < '4'`]),
  ...deny("predicate: WHERE", SSN, ["between", ">=", "<="], [`SELECT id ${P} AND ssn BETWEEN '3' AND '4'`]),
  ...deny(
    "predicate: WHERE",
    DOB,
    ["<", ">", "operator"],
    [`SELECT id ${P} AND dob < '1950-01-01'`, `SELECT id ${P} AND dob > '1990-01-01'::date`],
  ),
  ...deny("predicate: WHERE", ZIP, [">=", "operator"], [`SELECT id ${P} AND zip >= '90000'`]),
  ...deny("predicate: WHERE", SSN, ["<>", "operator"], [[`SELECT id ${P} AND ssn <> '${ONE.ssn}'`, GUESS]]),
  ...deny("predicate: WHERE", SSN, ["starts_with"], [`SELECT id ${P} AND starts_with(ssn, '3')`]),
  ...deny("predicate: WHERE", SSN, ["^@"], [`SELECT id ${P} AND ssn ^@ '3'`]),
  ...deny("predicate: WHERE", SSN, ["position"], [`SELECT id ${P} AND position('52' in ssn) > 0`]),
  ...deny("predicate: WHERE", SSN, ["strpos"], [`SELECT id ${P} AND strpos(ssn, '52') > 0`]),
  ...deny("predicate: WHERE", EMAIL, ["length"], [`SELECT id ${P} AND length(email) > 20`]),
  ...deny("predicate: WHERE", LAST, ["upper"], [`SELECT id ${P} AND upper(last_name) = 'NOBODY'`]),
  ...deny("predicate: WHERE", EMAIL, ["lower"], [`SELECT id ${P} AND lower(email) LIKE 'n%'`]),
  ...deny("predicate: WHERE", SSN, ["regexp_like"], [`SELECT id ${P} AND regexp_like(ssn, '^3')`]),
  ...deny(
    "predicate: WHERE",
    SSN,
    ["distinct"],
    [[`SELECT id ${P} AND ssn IS DISTINCT FROM '${ONE.ssn}'`, GUESS]],
  ),
  ...deny("predicate: WHERE", SSN, ["cast", "="], [[`SELECT id ${P} AND ssn::text = '${ONE.ssn}'`, GUESS]]),
  ...deny(
    "predicate: WHERE",
    MRN,
    ["coalesce", "="],
    [[`SELECT id ${P} AND coalesce(mrn, '') = '${ONE.mrn}'`, GUESS]],
  ),
  ...deny(
    "predicate: WHERE",
    [SSN, MRN],
    ["row", "="],
    [[`SELECT id ${P} AND (ssn, mrn) = ('${ONE.ssn}', '${ONE.mrn}')`, GUESS]],
  ),
  ...deny("predicate: WHERE", [SSN, MRN], ["=", "operator", "join"], [`SELECT id ${P} AND ssn = mrn`]),
  ...deny("predicate: WHERE", [SSN, MRN], [">", "operator"], [`SELECT id ${P} AND ssn > mrn`]),
  ...deny(
    "predicate: WHERE",
    SSN,
    ["~~", "like"],
    [[`SELECT id FROM patients WHERE mrn = '${ONE.mrn}' AND ssn LIKE '3%'`, GUESS]],
  ),
  ...deny("predicate: WHERE", MRN, ["~~", "like"], [`SELECT id ${P} AND mrn LIKE 'MRN-2%'`]),
  // Lookup shapes that are not lookups
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["or", "=", "lookup"],
    [[`SELECT id FROM patients WHERE mrn = '${ONE.mrn}' OR id = 1`, GUESS]],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["not", "=", "lookup"],
    [[`SELECT id ${P} AND NOT (mrn = '${ONE.mrn}')`, GUESS]],
  ),
  ...deny("lookup: not a lookup", MRN, ["<>", "lookup"], [[`SELECT id ${P} AND mrn <> '${ONE.mrn}'`, GUESS]]),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["not in", "<>", "lookup", "any", "all"],
    [[`SELECT id ${P} AND mrn NOT IN ('${ONE.mrn}')`, GUESS]],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["||", "=", "lookup"],
    [[`SELECT id FROM patients WHERE mrn = 'MRN-' || '${ONE.mrn.slice(4)}'`, GUESS]],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["subquery", "sublink", "=", "lookup"],
    [[`SELECT id FROM patients WHERE mrn = (SELECT '${ONE.mrn}')`, GUESS]],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["upper", "=", "lookup"],
    [[`SELECT id FROM patients WHERE mrn = upper('${ONE.mrn.toLowerCase()}')`, GUESS]],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["=", "lookup"],
    [[`SELECT id ${P} AND (mrn = '${ONE.mrn}') = true`, GUESS]],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["any", "array", "lookup", "="],
    [[`SELECT id FROM patients WHERE mrn = ANY ($1::text[])`, { params: [[ONE.mrn, TWO.mrn]], guess: true }]],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["union", "set operation"],
    [
      [
        `SELECT id FROM (SELECT id, mrn FROM patients WHERE id <= 5 UNION ALL SELECT id, mrn FROM patients WHERE id BETWEEN 6 AND 10) u WHERE mrn = '${ONE.mrn}'`,
        GUESS,
      ],
    ],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["coalesce", "=", "lookup"],
    [[`SELECT id FROM (SELECT id, coalesce(mrn, '') AS m ${P}) s WHERE m = '${ONE.mrn}'`, GUESS]],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["lookup", "left", "outer", "join", "="],
    [
      [
        `SELECT p.id, e.id FROM patients p LEFT JOIN encounters e ON e.patient_id = p.id AND p.mrn = '${ONE.mrn}' WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
        {
          ...GUESS,
          why: "a lookup in an outer join's ON decides which rows get partners: not a lookup position",
        },
      ],
    ],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["having", "=", "lookup"],
    [[`SELECT id ${P} GROUP BY id HAVING mrn = '${ONE.mrn}'`, GUESS]],
  ),
  ...deny(
    "lookup: not a lookup",
    MRN,
    ["lookup", "100", "literal"],
    [
      [`SELECT count(*) FROM patients WHERE mrn IN (${mrnLiterals(101)})`, GUESS],
      [
        `SELECT count(*) FROM patients WHERE mrn IN (${mrnLiterals(60)}) AND mrn = ANY (ARRAY[${mrnLiterals(41)}])`,
        { ...GUESS, why: "at most 100 lookup literals per statement in total" },
      ],
    ],
  ),
  // Lookups on columns whose policy rule does not allow them (the default is deny)
  ...deny(
    "lookup: not allowed for the column",
    SSN,
    ["lookup", "="],
    [
      [`SELECT id FROM patients WHERE ssn = '${ONE.ssn}'`, GUESS],
      [`SELECT id FROM patients WHERE ssn = $1`, { params: [ONE.ssn], guess: true }],
    ],
  ),
  ...deny(
    "lookup: not allowed for the column",
    SSN,
    ["lookup", "any", "in"],
    [
      [`SELECT id FROM patients WHERE ssn IN ('${ONE.ssn}', '${TWO.ssn}')`, GUESS],
      [`SELECT id FROM patients WHERE ssn = ANY (ARRAY['${ONE.ssn}'])`, GUESS],
    ],
  ),
  ...deny(
    "lookup: not allowed for the column",
    FIRST,
    ["lookup", "="],
    [[`SELECT id FROM patients WHERE first_name = '${ONE.first_name}'`, GUESS]],
  ),
  ...deny(
    "lookup: not allowed for the column",
    DOB,
    ["lookup", "="],
    [[`SELECT id FROM patients WHERE dob = '${ONE.dob}'::date`, GUESS]],
  ),
  ...deny(
    "lookup: not allowed for the column",
    ZIP,
    ["lookup", "="],
    [[`SELECT count(*) FROM patients WHERE zip = '${ONE.zip}'`, GUESS]],
  ),
  ...deny(
    "lookup: not allowed for the column",
    EMAIL,
    ["lookup", "="],
    [[`SELECT id FROM patients WHERE email = $1`, { params: [ONE.email], guess: true }]],
  ),
  ...deny(
    "lookup: not allowed for the column",
    NOTES,
    ["lookup", "=", "detect"],
    [`SELECT id ${E} AND notes = 'Follow-up in two weeks.'`],
  ),
  // ---- Predicates in JOIN ... ON ----
  ...deny(
    "predicate: JOIN ON",
    SSN,
    ["~~", "like"],
    [
      `SELECT e.id FROM patients p JOIN encounters e ON e.patient_id = p.id AND p.ssn LIKE '3%' WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    DOB,
    ["<", "operator"],
    [
      `SELECT count(*) FROM encounters e JOIN patients p ON p.id = e.patient_id AND p.dob < '1950-01-01' WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    SSN,
    ["substr"],
    [
      `SELECT p.id FROM patients p JOIN encounters e ON e.patient_id = p.id AND substr(p.ssn, 1, 1) = '3' WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    SSN,
    ["<", "operator"],
    [`SELECT p.id, q.id FROM patients p JOIN patients q ON p.ssn < q.ssn WHERE p.id <= 3 AND q.id <= 3`],
  ),
  ...deny(
    "predicate: JOIN ON",
    [SSN, MRN],
    ["=", "join", "type"],
    [`SELECT p.id FROM patients p JOIN patients q ON p.ssn = q.mrn WHERE p.id <= ${ADVERSARIAL_PATIENTS}`],
  ),
  ...deny(
    "predicate: JOIN ON",
    [EMAIL, PHONE],
    ["=", "join", "type"],
    [
      `SELECT p.id FROM patients p JOIN patients q ON p.email = q.phone WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    EMAIL,
    ["lower"],
    [
      `SELECT p.id FROM patients p JOIN patients q ON lower(p.email) = lower(q.email) WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    SSN,
    ["or", "="],
    [
      `SELECT p.id FROM patients p JOIN patients q ON p.ssn = q.ssn OR p.id = q.id WHERE p.id <= 3 AND q.id <= 3`,
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    SSN,
    ["<>", "operator"],
    [
      `SELECT p.id FROM patients p JOIN patients q ON p.zip = q.zip AND p.ssn <> q.ssn WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    DOB,
    ["+", "operator"],
    [
      `SELECT p.id FROM patients p JOIN patients q ON p.dob = q.dob + 1 WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    SSN,
    ["=", "join", "values"],
    [
      [
        `SELECT p.id FROM patients p JOIN (VALUES ('${ONE.ssn}'), ('${TWO.ssn}')) v(s) ON v.s = p.ssn`,
        { ...GUESS, why: "one side is a constant, not a protected column: a guess oracle" },
      ],
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    MRN,
    ["=", "join"],
    [[`WITH g(m) AS (SELECT '${ONE.mrn}') SELECT p.id FROM patients p JOIN g ON g.m = p.mrn`, GUESS]],
  ),
  ...deny(
    "predicate: JOIN ON",
    [NOTES, MRN],
    ["~~", "like", "||"],
    [
      `SELECT e.id FROM encounters e JOIN patients p ON e.notes LIKE '%' || p.mrn || '%' WHERE p.id <= ${ADVERSARIAL_PATIENTS} AND e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    NOTES,
    ["=", "join", "detect"],
    [
      [
        `SELECT e.id FROM encounters e JOIN encounters f ON f.notes = e.notes WHERE e.patient_id <= ${ADVERSARIAL_PATIENTS} AND f.patient_id <= ${ADVERSARIAL_PATIENTS}`,
        { why: "detector columns have no semantic type and never join" },
      ],
    ],
  ),
  ...deny(
    "predicate: JOIN ON",
    SSN,
    ["~~", "like"],
    [
      `SELECT p.id, l.n FROM patients p JOIN LATERAL (SELECT 1 AS n) l ON p.ssn LIKE '3%' WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  // ---- HAVING and FILTER ----
  ...deny(
    "predicate: HAVING",
    ZIP,
    ["max"],
    [`SELECT state, count(*) ${P} GROUP BY state HAVING max(zip) > '5'`],
  ),
  ...deny(
    "predicate: HAVING",
    SSN,
    ["bool_or", "~~", "like"],
    [`SELECT state ${P} GROUP BY state HAVING bool_or(ssn LIKE '3%')`],
  ),
  ...deny(
    "predicate: HAVING",
    ZIP,
    ["distinct", "count"],
    [`SELECT state ${P} GROUP BY state HAVING count(DISTINCT zip) > 1`],
  ),
  ...deny(
    "predicate: HAVING",
    DOB,
    ["min"],
    [`SELECT state ${P} GROUP BY state HAVING min(dob) < '1950-01-01'`],
  ),
  ...deny(
    "predicate: HAVING",
    SSN,
    ["string_agg"],
    [`SELECT state ${P} GROUP BY state HAVING string_agg(ssn, '') LIKE '3%'`],
  ),
  ...deny(
    "predicate: FILTER",
    SSN,
    ["~~", "like", "filter"],
    [`SELECT count(*) FILTER (WHERE ssn LIKE '3%') ${P}`],
  ),
  ...deny(
    "predicate: FILTER",
    MRN,
    ["=", "filter", "lookup"],
    [[`SELECT count(*) FILTER (WHERE mrn = '${ONE.mrn}') ${P}`, GUESS]],
  ),
  ...deny(
    "predicate: FILTER",
    DOB,
    ["<", "filter"],
    [`SELECT sum(id) FILTER (WHERE dob < '1970-01-01') ${P}`],
  ),
  ...deny("predicate: FILTER", ZIP, [">", "filter"], [`SELECT count(*) FILTER (WHERE zip > '50000') ${P}`]),
  ...deny(
    "predicate: FILTER",
    SSN,
    ["substr"],
    [`SELECT array_agg(id) FILTER (WHERE substr(ssn, 1, 1) = '3') ${P}`],
  ),
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
    SSN,
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
  // ---- EXISTS / IN / ANY subqueries ----
  ...deny(
    "subquery: IN / ANY / EXISTS",
    SSN,
    ["subquery", "sublink", "any", "in"],
    [
      `SELECT id ${P} AND ssn IN (SELECT ssn FROM patients WHERE id BETWEEN 11 AND 20)`,
      `SELECT id ${P} AND ssn > ALL (SELECT ssn FROM patients WHERE id BETWEEN 11 AND 20)`,
    ],
  ),
  ...deny(
    "subquery: IN / ANY / EXISTS",
    MRN,
    ["subquery", "sublink", "any", "in"],
    [
      `SELECT id ${P} AND mrn = ANY (SELECT mrn FROM patients WHERE id = 2)`,
      [`SELECT id FROM patients WHERE mrn IN (SELECT '${ONE.mrn}')`, GUESS],
    ],
  ),
  ...deny(
    "subquery: IN / ANY / EXISTS",
    SSN,
    ["~~", "like", "exists"],
    [`SELECT p.id ${PP} AND EXISTS (SELECT 1 FROM patients q WHERE q.id = p.id AND q.ssn LIKE '3%')`],
  ),
  ...deny(
    "subquery: IN / ANY / EXISTS",
    NOTES,
    ["~~", "like", "exists"],
    [
      `SELECT p.id ${PP} AND NOT EXISTS (SELECT 1 FROM encounters e WHERE e.patient_id = p.id AND e.notes LIKE '%SSN%')`,
    ],
  ),
  ...deny(
    "subquery: IN / ANY / EXISTS",
    EMAIL,
    ["~~", "like", "exists"],
    [`SELECT id ${P} AND EXISTS (SELECT 1 WHERE patients.email LIKE 'n%')`],
  ),
  ...deny(
    "subquery: IN / ANY / EXISTS",
    SSN,
    ["~~", "like", "subquery"],
    [`SELECT id ${E} AND (SELECT ssn FROM patients WHERE id = 1) LIKE '3%'`],
  ),
  ...deny(
    "subquery: IN / ANY / EXISTS",
    ZIP,
    [">", "operator"],
    [`SELECT id ${E} AND patient_id IN (SELECT id FROM patients WHERE zip > '50000')`],
  ),
  ...deny(
    "subquery: IN / ANY / EXISTS",
    SSN,
    ["||", "=", "exists"],
    [`SELECT p.id ${PP} AND EXISTS (SELECT 1 FROM patients q WHERE q.ssn = p.ssn || '' AND q.id <> p.id)`],
  ),
  // ---- Containment, text search, starts_with, regex, LIKE on other shapes ----
  ...deny(
    "containment and text search",
    SSN,
    ["@>", "array"],
    [[`SELECT id ${P} AND ARRAY[ssn] @> ARRAY['${ONE.ssn}']`, GUESS]],
  ),
  ...deny(
    "containment and text search",
    SSN,
    ["<@", "array"],
    [[`SELECT id ${P} AND ARRAY['${ONE.ssn}'] <@ ARRAY[ssn]`, GUESS]],
  ),
  ...deny(
    "containment and text search",
    DOB,
    ["@>", "range"],
    [`SELECT id ${P} AND daterange('1960-01-01', '1970-01-01') @> dob`],
  ),
  ...deny(
    "containment and text search",
    DOB,
    ["<@", "range"],
    [`SELECT id ${P} AND dob <@ daterange('1960-01-01', '1970-01-01')`],
  ),
  ...deny(
    "containment and text search",
    ZIP,
    ["@>", "substr", "cast"],
    [`SELECT id ${P} AND int4range(1, 500) @> substr(zip, 1, 3)::int`],
  ),
  ...deny(
    "containment and text search",
    EMAIL,
    ["@@", "to_tsvector"],
    [`SELECT id ${P} AND to_tsvector('simple', email) @@ to_tsquery('simple', 'nobody')`],
  ),
  ...deny(
    "containment and text search",
    NOTES,
    ["@@", "to_tsvector"],
    [`SELECT id ${E} AND to_tsvector('simple', notes) @@ 'ssn'::tsquery`],
  ),
  ...deny(
    "containment and text search",
    SSN,
    ["@>", "jsonb_build_object"],
    [`SELECT id ${P} AND jsonb_build_object('s', ssn) @> '{"s": "x"}'`],
  ),
  ...deny(
    "containment and text search",
    SSN,
    ["@>", "to_jsonb"],
    [`SELECT id ${P} AND to_jsonb(ssn) @> '"x"'`],
  ),
  ...deny(
    "containment and text search",
    SSN,
    ["&&", "string_to_array"],
    [`SELECT id ${P} AND string_to_array(ssn, '-') && ARRAY['0495']`],
  ),
  // ---- Error oracles: the failure (or its SQLSTATE) depends on the value ----
  ...deny(
    "error oracle",
    SSN,
    ["substr", "cast", "/", "-"],
    [[`SELECT 1 / (substr(ssn, 1, 1)::int - 3) FROM patients WHERE id = 1`, { errors: true }]],
  ),
  ...deny(
    "error oracle",
    SSN,
    ["case", "substr"],
    [
      [
        TEN_ERRORS_CASE,
        { errors: true, why: "ten branches, ten SQLSTATEs: the error code is the first digit" },
      ],
    ],
  ),
  ...deny(
    "error oracle",
    SSN,
    ["make_date", "substr", "cast"],
    [[`SELECT make_date(2000, substr(ssn, 1, 3)::int, 1) ${P}`, { errors: true }]],
  ),
  ...deny(
    "error oracle",
    PHONE,
    ["to_date"],
    [[`SELECT to_date(phone, 'YYYY-MM-DD') ${P}`, { errors: true }]],
  ),
  ...deny(
    "error oracle",
    SSN,
    ["ln", "ascii", "-"],
    [[`SELECT ln(ascii(ssn) - 51) FROM patients WHERE id = 1`, { errors: true }]],
  ),
  ...deny(
    "error oracle",
    SSN,
    ["generate_series", "substr", "cast", "subquery"],
    [
      [
        `SELECT (SELECT 1 FROM generate_series(1, substr(ssn, 1, 1)::int)) FROM patients WHERE id = 1`,
        { errors: true },
      ],
    ],
  ),
  ...deny(
    "error oracle",
    SSN,
    ["repeat", "ascii"],
    [[`SELECT length(repeat('x', ascii(ssn) * 100000000)) FROM patients WHERE id = 1`, { errors: true }]],
  ),
  ...deny(
    "error oracle",
    SSN,
    ["case", "~~", "like"],
    [
      [
        `SELECT CASE WHEN ssn LIKE '3%' THEN 1 / (id - id) ELSE 1 END FROM patients WHERE id = 1`,
        { errors: true },
      ],
    ],
  ),
  // ---- Row-count oracles ----
  ...deny("row-count oracle", SSN, ["~~", "like"], [`SELECT count(*) ${P} AND ssn LIKE '3%'`]),
  ...deny(
    "row-count oracle",
    EMAIL,
    ["length"],
    [
      "SELECT count(*) FROM generate_series(1, 40) g WHERE g < (SELECT length(email) FROM patients WHERE id = 1)",
    ],
  ),
  ...deny(
    "row-count oracle",
    SSN,
    ["substr"],
    ["SELECT 1 FROM patients WHERE id = 1 AND substr(ssn, 1, 1) = '3'"],
  ),
  ...deny(
    "row-count oracle",
    ZIP,
    ["between", ">=", "<="],
    [`SELECT count(*) ${P} AND zip BETWEEN '90000' AND '99999'`],
  ),
  ...deny(
    "row-count oracle",
    EMAIL,
    ["~~", "like"],
    ["SELECT id FROM patients WHERE id = 1 AND email LIKE '%@example.com'"],
  ),
  ...deny(
    "row-count oracle",
    NOTES,
    ["~~", "like"],
    [`SELECT count(*) FROM encounters WHERE patient_id = 9 AND notes LIKE '%SSN 6%'`],
  ),
  // ---- Whole rows ----
  ...deny(
    "whole row",
    PATIENTS,
    ["whole row", "whole-row", "row"],
    [
      `SELECT p FROM patients p WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
      `SELECT row_to_json(p) ${PP}`,
      `SELECT to_jsonb(p) ${PP}`,
      `SELECT ROW(p.*) ${PP}`,
      `SELECT p::text ${PP}`,
      `SELECT format('%s', p) ${PP}`,
      `SELECT concat(p.*) ${PP}`,
      `SELECT patients ${P}`,
      `SELECT ssn(p) ${PP}`,
      `SELECT t.x FROM patients p, LATERAL (SELECT p) t(x) WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
      `SELECT (p).* ${PP}`,
      `SELECT (p).ssn ${PP}`,
      `SELECT (x).ssn FROM (SELECT p AS x ${PP}) s`,
      `SELECT count(p) ${PP}`,
      `SELECT count(p.*) ${PP}`,
      `SELECT p.id ${PP} AND p IS NOT NULL`,
      `SELECT p.id ${PP} ORDER BY p`,
      `SELECT DISTINCT p ${PP}`,
      `SELECT p = p ${PP}`,
      `SELECT md5(p::text) ${PP}`,
      `SELECT t FROM (SELECT id, ssn ${P}) t`,
    ],
  ),
  ...deny(
    "whole row",
    [ENCOUNTERS, NOTES],
    ["whole row", "whole-row", "row"],
    [
      `SELECT e FROM encounters e WHERE e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
      `SELECT to_jsonb(e) ${EE}`,
      `SELECT e::text ${EE}`,
    ],
  ),
  // ---- JSON / XML builders ----
  ...deny("JSON/XML", SSN, ["json_build_object"], [`SELECT json_build_object('s', ssn) ${P}`]),
  ...deny("JSON/XML", EMAIL, ["jsonb_agg"], [`SELECT jsonb_agg(email) ${P}`]),
  ...deny("JSON/XML", SSN, ["json_object_agg"], [`SELECT json_object_agg(id, ssn) ${P}`]),
  ...deny("JSON/XML", SSN, ["xmlelement"], [`SELECT xmlelement(name p, ssn) ${P}`]),
  ...deny("JSON/XML", MRN, ["xmlforest"], [`SELECT xmlforest(mrn) ${P}`]),
  ...deny("JSON/XML", FIRST, ["json_build_array"], [`SELECT json_build_array(first_name) ${P}`]),
  ...deny("JSON/XML", SSN, ["to_json"], [`SELECT to_json(ssn) ${P}`]),
  ...deny("JSON/XML", DOB, ["to_jsonb"], [`SELECT to_jsonb(dob) ${P}`]),
  ...deny("JSON/XML", SSN, ["row_to_json", "row"], [`SELECT row_to_json(ROW(ssn)) ${P}`]),
  ...deny("JSON/XML", MRN, ["array_to_json", "array"], [`SELECT array_to_json(ARRAY[mrn]) ${P}`]),
  ...deny(
    "JSON/XML",
    SSN,
    ["xmlparse", "xpath", "||"],
    [`SELECT (xpath('/a/text()', xmlparse(content '<a>' || ssn || '</a>')))[1]::text ${P}`],
  ),
  ...deny(
    "JSON/XML",
    SSN,
    ["xmlelement", "xpath"],
    [`SELECT xpath('translate(/x/text(), "0123456789", "ABCDEFGHIJ")', xmlelement(name x, ssn)) ${P}`],
  ),
  ...deny("JSON/XML", SSN, ["xmlagg", "xmlelement"], [`SELECT xmlagg(xmlelement(name n, ssn)) ${P}`]),
  ...deny(
    "JSON/XML",
    SSN,
    ["jsonb_path_exists", "to_jsonb"],
    [`SELECT jsonb_path_exists(to_jsonb(ssn), '$ ? (@ like_regex "^3")') ${P}`],
  ),
  ...deny(
    "JSON/XML",
    SSN,
    ["xmltable", "xmlelement"],
    [
      `SELECT x.c FROM patients p, XMLTABLE('/x' PASSING xmlelement(name x, p.ssn) COLUMNS c text PATH '.') x WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny("JSON/XML", SSN, ["xmlconcat", "xmlelement"], [`SELECT xmlconcat(xmlelement(name a, ssn)) ${P}`]),
  ...deny(
    "JSON/XML",
    SSN,
    ["json_strip_nulls", "json_build_object"],
    [`SELECT json_strip_nulls(json_build_object('s', ssn)) ${P}`],
  ),
  ...deny("JSON/XML", SSN, ["jsonb_set", "to_jsonb"], [`SELECT jsonb_set('{}', '{s}', to_jsonb(ssn)) ${P}`]),
  ...deny(
    "JSON/XML",
    SSN,
    ["xmlserialize", "xmlelement"],
    [`SELECT xmlserialize(content xmlelement(name x, ssn) AS text) ${P}`],
  ),
  // ---- Aggregates other than count ----
  ...deny("aggregate", SSN, ["min"], [`SELECT min(ssn) ${P}`]),
  ...deny("aggregate", MRN, ["max"], [`SELECT max(mrn) ${P}`]),
  ...deny("aggregate", SSN, ["string_agg"], [`SELECT string_agg(ssn, ',') ${P}`]),
  ...deny("aggregate", EMAIL, ["array_agg"], [`SELECT array_agg(email) ${P}`]),
  ...deny("aggregate", ZIP, ["sum", "cast"], [`SELECT sum(zip::int) ${P}`]),
  ...deny("aggregate", ZIP, ["avg", "cast"], [`SELECT avg(zip::int) ${P}`]),
  ...deny("aggregate", SSN, ["bool_or", "~~", "like"], [`SELECT bool_or(ssn LIKE '3%') ${P}`]),
  ...deny("aggregate", ZIP, ["every", "bool_and", ">"], [`SELECT every(zip > '1') ${P}`]),
  ...deny("aggregate", NOTES, ["string_agg"], [`SELECT string_agg(notes, ' ') ${E}`]),
  // ---- The detector column (notes) anywhere but output ----
  ...functions("notes (detector column)", [
    ["reverse", NOTES, `SELECT reverse(notes) ${E}`],
    ["replace", NOTES, `SELECT replace(notes, '-', '') ${E}`],
    ["substr", NOTES, `SELECT substr(notes, 61, 60) ${E}`],
    ["left", NOTES, `SELECT left(notes, 40) ${E}`],
    ["cast", NOTES, `SELECT notes::bytea ${E}`],
    ["convert_to", NOTES, `SELECT encode(convert_to(notes, 'UTF8'), 'hex') ${E}`],
    ["json_agg", NOTES, `SELECT json_agg(notes) ${E}`],
    ["regexp_replace", NOTES, `SELECT regexp_replace(notes, '(\\d)', '\\1 ', 'g') ${E}`],
    ["xmlelement", NOTES, `SELECT xmlagg(xmlelement(name n, notes)) ${E}`],
    [
      "xmlelement",
      NOTES,
      `SELECT xpath('translate(/x/text(), "0123456789", "ABCDEFGHIJ")', xmlelement(name x, notes)) ${E}`,
    ],
    [
      "xmlelement",
      NOTES,
      `SELECT x.c FROM encounters e, XMLTABLE('/x' PASSING xmlelement(name x, e.notes) COLUMNS c text PATH 'substring(., 1, 40)') x WHERE e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
    ],
    ["to_jsonb", NOTES, `SELECT jsonb_path_query_first(to_jsonb(notes), '$ ? (@ like_regex "SSN")') ${E}`],
    ["like", NOTES, `SELECT id ${E} AND notes LIKE '%SSN 6%'`],
    ["order", NOTES, `SELECT id ${E} ORDER BY notes`],
    ["group", NOTES, `SELECT count(*) ${E} GROUP BY notes`],
    ["distinct", NOTES, `SELECT DISTINCT notes ${E}`],
    ["~", NOTES, `SELECT count(*) FILTER (WHERE notes ~ 'SSN [0-9]') ${E}`],
    ["length", NOTES, `SELECT length(notes) ${E}`],
    ["md5", NOTES, `SELECT md5(notes) ${E}`],
    ["position", NOTES, `SELECT position('SSN' in notes) ${E}`],
    ["to_tsvector", NOTES, `SELECT to_tsvector('simple', notes) ${E}`],
    ["regexp_split_to_table", NOTES, `SELECT regexp_split_to_table(notes, '\\s+') ${E}`],
    [
      "string_agg",
      NOTES,
      `SELECT x FROM unnest(regexp_split_to_array((SELECT string_agg(notes, ' ') ${E}), '\\s+')) x`,
    ],
  ]),
  ...deny(
    "notes (detector column)",
    NOTES,
    ["collate"],
    [[`SELECT notes COLLATE "C" ${E}`, { why: "unsure: COLLATE is not in the allow-list (spec silent)" }]],
  ),
  ...masked("notes (detector column)", [
    `SELECT notes ${E}`,
    `SELECT id, notes ${E} AND department = 'Emergency'`,
    [`SELECT upper(notes) ${E}`, { why: "a total operation on a detector column: nulled" }],
    `SELECT coalesce(notes, '') ${E}`,
    `SELECT e.notes, p.mrn FROM encounters e JOIN patients p ON p.id = e.patient_id WHERE p.id <= ${ADVERSARIAL_PATIENTS} AND e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
  ]),
  ...allowed("notes (detector column)", [
    `SELECT count(notes) ${E}`,
    `SELECT id ${E} AND notes IS NOT NULL`,
    `SELECT count(*) FILTER (WHERE notes IS NULL) ${E}`,
  ]),
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
      `WITH RECURSIVE r(n) AS (SELECT 1 FROM patients WHERE mrn = '${ONE.mrn}' UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r`,
      { ...GUESS, why: "unsure: the recursive CTE carries no P; the lookup sits in a WHERE" },
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
    `SELECT p.id, q.id FROM patients p JOIN patients q ON q.ssn = p.ssn WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT p.id FROM patients p JOIN patients q USING (mrn) WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT id FROM patients NATURAL JOIN (SELECT id, mrn ${P}) q`,
    `SELECT p.id FROM patients p, patients q WHERE p.mrn = q.mrn AND p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT p.id, q.id FROM patients p LEFT JOIN patients q ON q.ssn = p.ssn AND q.id <> p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT p.id, q.id FROM (SELECT * ${P}) p FULL JOIN (SELECT * FROM patients WHERE id <= 3) q ON q.email = p.email`,
    `SELECT p.id FROM patients p JOIN (SELECT ssn FROM patients WHERE id <= 20) s ON s.ssn = p.ssn WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `WITH s AS (SELECT ssn FROM patients WHERE id <= 3) SELECT p.id FROM patients p JOIN s ON s.ssn = p.ssn`,
    `SELECT p.id FROM patients p JOIN patients q ON q.email = p.email AND q.phone = p.phone WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT p.id, q.id FROM patients p CROSS JOIN patients q WHERE p.zip = q.zip AND p.id <= 3 AND q.id <= 3`,
    [
      `SELECT p.id ${PP} AND EXISTS (SELECT 1 FROM patients q WHERE q.ssn = p.ssn AND q.id <> p.id)`,
      { why: "unsure: EXISTS correlated on an equi-join (an allowed form)" },
    ],
  ]),
  ...masked("equi-join", [
    `SELECT p.mrn, q.mrn FROM patients p JOIN patients q ON q.ssn = p.ssn WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT mrn, ssn FROM patients p JOIN patients q USING (mrn, ssn) WHERE p.id <= 3`,
  ]),
  // ---- count ----
  ...allowed("count", [
    `SELECT count(ssn) ${P}`,
    `SELECT count(*) ${P}`,
    `SELECT count(email), count(phone) ${P}`,
    `SELECT count(ssn) FILTER (WHERE id < 5) ${P}`,
    `SELECT state, count(*) ${P} GROUP BY state HAVING count(ssn) > 0`,
    `SELECT p.id, count(e.id) FROM patients p LEFT JOIN (SELECT * ${E}) e ON e.patient_id = p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS} GROUP BY p.id`,
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
    `SELECT id, row_number() OVER (PARTITION BY state ORDER BY id) ${P}`,
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
    [
      `SELECT p.id, p.mrn, count(e.id) AS visits FROM patients p LEFT JOIN (SELECT * ${E}) e ON e.patient_id = p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS} GROUP BY p.id ORDER BY visits DESC, p.id`,
      { why: "unsure: mrn is output through a GROUP BY of the primary key (a copy, not a grouping key)" },
    ],
  ]),
  ...deny(
    "README, reports and exports",
    [DOB, "public.encounters.admitted_at"],
    ["age", "date_part", "max", ">="],
    [[REPORT_QUERY, { why: "bench/sql.ts's report computes age(dob): not a total operation" }]],
  ),
  ...approval("README, reports and exports", [
    `SELECT p.*, e.* FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    `SELECT id, mrn, ssn, first_name, last_name, dob, sex, zip, phone, email, city FROM patients WHERE id BETWEEN 1 AND ${ADVERSARIAL_PATIENTS}`,
    `SELECT * ${P}`,
    `SELECT id, ssn, mrn, first_name, last_name, dob, zip, phone ${P}`,
    "SELECT ssn FROM patients",
    "TABLE patients",
  ]),
  // ---- Catalog, server, SQL in strings (denied by other rules than opacity) ----
  ...deniedOther("catalog and server", [
    "SELECT most_common_vals::text FROM pg_stats WHERE attname = 'ssn'",
    "SELECT relname FROM pg_class LIMIT 3",
    `SELECT query_to_xml('SELECT ssn ${P}', true, false, '')`,
    "SELECT table_to_xml('patients', true, false, '')",
    `SELECT x FROM ts_stat('SELECT to_tsvector(''simple'', replace(ssn, ''-'', '''')) ${P}') x`,
    `SELECT x FROM pg_catalog.ts_stat('SELECT to_tsvector(''simple'', mrn) ${P}') x`,
    "SELECT ts_rewrite('a'::tsquery, 'SELECT to_tsquery(''simple'', replace(ssn, ''-'', '''')), ''a''::tsquery FROM patients WHERE id = 1')",
    "SELECT x FROM pg_stat_get_activity(NULL) x",
    "SELECT set_config('search_path', 'pg_catalog', true)",
    "EXPLAIN SELECT id FROM patients WHERE ssn LIKE '3%'",
    [`SELECT id, ssn ${P} FOR UPDATE`, { errors: true }],
  ]),
];

/** Statements only PostgreSQL 16+ parses (PGlite runs 18; the apt server is 15): run on PGlite only. */
export const PGLITE_ONLY_STATEMENTS: readonly AdversarialStatement[] = [
  ...deny("JSON/XML (PostgreSQL 16+)", SSN, ["json_object"], [`SELECT JSON_OBJECT('ssn': ssn) ${P}`]),
  ...deny("JSON/XML (PostgreSQL 16+)", EMAIL, ["json_arrayagg"], [`SELECT JSON_ARRAYAGG(email) ${P}`]),
  ...deny(
    "JSON/XML (PostgreSQL 16+)",
    SSN,
    ["json_value", "to_jsonb"],
    [`SELECT JSON_VALUE(to_jsonb(ssn), '$') ${P}`],
  ),
  ...deny("JSON/XML (PostgreSQL 16+)", SSN, ["is json", "json"], [`SELECT id ${P} AND ssn IS JSON`]),
  ...deny("JSON/XML (PostgreSQL 16+)", SSN, ["any_value"], [`SELECT any_value(ssn) ${P}`]),
  ...deny(
    "JSON/XML (PostgreSQL 16+)",
    PATIENTS,
    ["whole row", "whole-row", "row", "json_table"],
    [
      `SELECT j.s FROM patients p, JSON_TABLE(to_jsonb(p), '$' COLUMNS (s text PATH '$.ssn')) j WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
  ...deny(
    "JSON/XML (PostgreSQL 16+)",
    NOTES,
    ["json_table", "jsonb_build_object"],
    [
      `SELECT j.c FROM encounters e, JSON_TABLE(jsonb_build_object('n', e.notes), '$' COLUMNS (c text PATH '$.n')) j WHERE e.patient_id <= ${ADVERSARIAL_PATIENTS}`,
    ],
  ),
];

/**
 * Run before the server-only statements (their own schema for extensions, off the search path so hstore's `||`
 * does not shadow the built-in; views over patients; a user-defined function).
 */
export const SERVER_SETUP_SQL = `
CREATE SCHEMA ext;
CREATE EXTENSION pgcrypto SCHEMA ext;
CREATE EXTENSION hstore SCHEMA ext;
CREATE EXTENSION tablefunc SCHEMA ext;
CREATE EXTENSION pageinspect SCHEMA ext;
CREATE VIEW patient_contacts AS SELECT id, upper(email) AS email_upper, ssn FROM patients;
CREATE VIEW patient_ssn3 AS SELECT id, substr(ssn, 1, 3) AS ssn3 FROM patients;
CREATE VIEW threes AS SELECT id FROM patients WHERE ssn LIKE '3%';
CREATE VIEW zip_counts AS SELECT zip, count(*) AS n FROM patients GROUP BY zip;
CREATE VIEW patient_rows AS SELECT id, p::text AS whole FROM patients p;
CREATE VIEW patient_mrns AS SELECT id, mrn FROM patients;
CREATE FUNCTION patient_ssn(integer) RETURNS text LANGUAGE sql STABLE AS 'SELECT ssn FROM patients WHERE id = $1';
`;

/** The views SERVER_SETUP_SQL creates (the server suite grants them, so that opacity, not grants, decides). */
export const SERVER_VIEWS = [
  "public.patient_contacts",
  "public.patient_ssn3",
  "public.threes",
  "public.zip_counts",
  "public.patient_rows",
  "public.patient_mrns",
] as const;

/** Statements over the server's extensions, views and function (SERVER_SETUP_SQL): run on the server only. */
export const SERVER_STATEMENTS: readonly AdversarialStatement[] = [
  ...masked("views", [
    `SELECT id, email_upper, ssn FROM patient_contacts WHERE id <= ${ADVERSARIAL_PATIENTS}`,
  ]),
  ...deny(
    "views",
    SSN,
    ["order", "sort"],
    [`SELECT id FROM patient_contacts WHERE id <= ${ADVERSARIAL_PATIENTS} ORDER BY ssn`],
  ),
  ...deny("views", SSN, ["substr"], [`SELECT ssn3 FROM patient_ssn3 WHERE id <= ${ADVERSARIAL_PATIENTS}`]),
  ...deny(
    "views",
    SSN,
    ["~~", "like"],
    [
      [
        `SELECT count(*) FROM threes WHERE id <= ${ADVERSARIAL_PATIENTS}`,
        { why: "the view's own WHERE filters rows by a protected value" },
      ],
    ],
  ),
  ...deny("views", ZIP, ["group"], ["SELECT n FROM zip_counts LIMIT 5"]),
  ...deny(
    "views",
    PATIENTS,
    ["whole row", "whole-row", "row"],
    [`SELECT whole FROM patient_rows WHERE id <= ${ADVERSARIAL_PATIENTS}`],
  ),
  ...allowed("views", [
    [
      `SELECT id FROM patient_mrns WHERE mrn = '${ONE.mrn}'`,
      { ...GUESS, why: "unsure: a lookup on a view column that copies mrn" },
    ],
    `SELECT v.id FROM patient_mrns v JOIN patients p ON p.mrn = v.mrn WHERE p.id <= ${ADVERSARIAL_PATIENTS}`,
  ]),
  ...deniedOther("server extras", [
    `SELECT ext.digest(ssn, 'sha256') ${P}`,
    `SELECT encode(ext.digest(mrn, 'md5'), 'hex') ${P}`,
    `SELECT ext.hstore(p) ${PP}`,
    `SELECT ext.akeys(ext.hstore(ARRAY['s', ssn])) ${P}`,
    `SELECT * FROM ext.crosstab('SELECT id, ssn, mrn ${P}') AS t(id int, a text)`,
    "SELECT t.* FROM ext.heap_page_items(ext.get_raw_page('patients', 0)) t LIMIT 5",
    "SELECT patient_ssn(1)",
  ]),
];

/**
 * Statements the rules allow that read a protected column and fail at run time for a reason that does not depend
 * on a protected value: the answer is `422 execution_failed` with no SQLSTATE.
 */
export const FAILING_PROTECTED_STATEMENTS: readonly AdversarialStatement[] = [
  ...entries("run-time failure", "masked", [
    [`SELECT ssn, 1 / (id - id) ${P}`, { errors: true }],
    [`SELECT mrn, ('x' || id)::int ${P}`, { errors: true }],
    [`SELECT id FROM patients WHERE mrn = '${ONE.mrn}' AND 1 / (id - id) = 1`, { errors: true, guess: true }],
    [`SELECT count(ssn), 1 / (count(*) - count(*)) ${P}`, { errors: true }],
    [`SELECT id, email IS NULL, make_date(2000, 12 + id, 1) ${P}`, { errors: true }],
    [`SELECT notes, 1 / (id - id) ${E}`, { errors: true }],
  ]),
];

/** Statements that read no protected column and fail at run time: they keep today's SQLSTATE answer. */
export const FAILING_PLAIN_STATEMENTS: readonly AdversarialStatement[] = [
  ...entries("run-time failure", "allowed", [
    [`SELECT id, 1 / (id - id) ${E}`, { errors: true }],
    [`SELECT department, ('x' || id)::int ${E}`, { errors: true }],
  ]),
];
