// Adversarial statements using protected values in conditions: CASE, WHERE, JOIN ON, HAVING, FILTER, subqueries, containment.

import {
  ADVERSARIAL_PATIENTS,
  approval,
  DOB,
  deny,
  E,
  EMAIL,
  FIRST,
  GUESS,
  LAST,
  MRN,
  mrnLiterals,
  NOTES,
  ONE,
  P,
  PHONE,
  PP,
  SSN,
  TWO,
  ZIP,
} from "#test/support/adversarial/build.ts";
import type { AdversarialStatement } from "#test/support/adversarial/types.ts";

/** Predicates of every shape on protected values (lookup shapes that are not lookups included): denied. */
export const PREDICATE_STATEMENTS: readonly AdversarialStatement[] = [
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
  ...deny("predicate: WHERE", LAST, ["upper", "where"], [`SELECT id ${P} AND upper(last_name) = 'NOBODY'`]),
  ...deny("predicate: WHERE", EMAIL, ["lower", "where"], [`SELECT id ${P} AND lower(email) LIKE 'n%'`]),
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
    [
      [`SELECT id FROM patients WHERE mrn = ANY ($1::text[])`, { params: [[ONE.mrn, TWO.mrn]], guess: true }],
      // Found by an outside attack: one array-typed "literal" inside ARRAY[...] carried any number of values.
      [
        `SELECT id FROM patients WHERE mrn = ANY (ARRAY[$1::text[]])`,
        { params: [`{${ONE.mrn},${TWO.mrn}}`], guess: true },
      ],
      [`SELECT id FROM patients WHERE mrn = ANY (ARRAY['{${ONE.mrn},${TWO.mrn}}'::text[]])`, GUESS],
    ],
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
  // Lookups the demo policy allows with an approver's consent (`lookup: approval` on ssn and the names)
  ...approval("lookup: approval for the column", [
    [`SELECT id FROM patients WHERE ssn = '${ONE.ssn}'`, GUESS],
    [`SELECT id FROM patients WHERE ssn = $1`, { params: [ONE.ssn], guess: true }],
    [`SELECT id FROM patients WHERE ssn IN ('${ONE.ssn}', '${TWO.ssn}')`, GUESS],
    [`SELECT id FROM patients WHERE ssn = ANY (ARRAY['${ONE.ssn}'])`, GUESS],
    [`SELECT id FROM patients WHERE first_name = '${ONE.first_name}'`, GUESS],
  ]),
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
    ["lower", "join"],
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
];
