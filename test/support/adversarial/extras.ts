// Adversarial statements for one backend (PostgreSQL 16+ syntax, the server's extensions and views), catalog probes and run-time failures.

import {
  ADVERSARIAL_PATIENTS,
  allowed,
  deniedOther,
  deny,
  E,
  EMAIL,
  entries,
  GUESS,
  masked,
  NOTES,
  ONE,
  P,
  PATIENTS,
  PP,
  SSN,
  ZIP,
} from "#test/support/adversarial/build.ts";
import type { AdversarialStatement } from "#test/support/adversarial/types.ts";

/** Catalog, server and SQL-in-a-string probes: denied by other rules than opacity (grants, kind, denied functions). */
export const CATALOG_STATEMENTS: readonly AdversarialStatement[] = [
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
 * Statements the rules allow that read a protected column or any PHI table and fail at run time (here for a reason
 * that does not depend on a protected value): the answer is `422 execution_failed` with no SQLSTATE, which could
 * otherwise carry a value's facts (the eleventh outside attack chose among sixteen).
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
  ...entries("run-time failure", "allowed", [
    [`SELECT id, 1 / (id - id) ${E}`, { errors: true }],
    [`SELECT department, ('x' || id)::int ${E}`, { errors: true }],
  ]),
];

/** Statements that read no PHI table and fail at run time: they keep their SQLSTATE answer. */
export const FAILING_PLAIN_STATEMENTS: readonly AdversarialStatement[] = [
  ...entries("run-time failure", "allowed", [
    ["SELECT g, 1 / (g - g) FROM generate_series(1, 3) g", { errors: true }],
    ["SELECT ('x' || g)::int FROM generate_series(1, 3) g", { errors: true }],
  ]),
];
