// Adversarial statements that leak through errors, row counts, whole rows, JSON/XML, aggregates and the detector column.

import {
  ADVERSARIAL_PATIENTS,
  allowed,
  DOB,
  deny,
  E,
  EE,
  EMAIL,
  ENCOUNTERS,
  FIRST,
  functions,
  MRN,
  masked,
  NOTES,
  P,
  PATIENTS,
  PHONE,
  PP,
  SSN,
  ZIP,
} from "#test/support/adversarial/build.ts";
import { TEN_ERRORS_CASE } from "#test/support/adversarial/reproducers.ts";
import type { AdversarialStatement } from "#test/support/adversarial/types.ts";

/** Error and row-count oracles, whole rows, JSON/XML builders, aggregates, notes anywhere but output: denied. */
export const ORACLE_STATEMENTS: readonly AdversarialStatement[] = [
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
      `SELECT (x).ssn FROM (SELECT p AS x ${PP}) s`,
      `SELECT p.id ${PP} ORDER BY p`,
      `SELECT DISTINCT p ${PP}`,
      `SELECT p = p ${PP}`,
      `SELECT md5(p::text) ${PP}`,
      `SELECT t FROM (SELECT id, ssn ${P}) t`,
    ],
  ),
  // A field of a whole row is that column; a whole row counted or tested for NULL reveals nullness only
  ...masked("whole row", [
    [`SELECT (p).ssn ${PP}`, { why: "(p).ssn is exactly a copy of ssn" }],
    [`SELECT (s).* FROM (SELECT id, ssn ${P}) s`, { why: "(s).* expands into s's columns, as s.* does" }],
  ]),
  ...allowed("whole row", [
    [`SELECT count(p) ${PP}`, { why: "count of rows that are not null: nullness only" }],
    [`SELECT count(p.*) ${PP}`, { why: "count of rows that are not null: nullness only" }],
    [`SELECT p.id ${PP} AND p IS NOT NULL`, { why: "a null test of a whole row: nullness only" }],
  ]),
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
  ...masked("notes (detector column)", [
    [
      `SELECT notes COLLATE "C" ${E}`,
      { why: "a collation leaves the text unchanged: the detectors scan a copy" },
    ],
  ]),
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
];
