// The adversarial statements of the masking leak suite, by category, each restricted to patients 1..LEAK_PATIENTS.

/** How the gateway may answer a statement without leaking. */
export type LeakOutcome = "masked" | "denied" | "approval";

/** One adversarial statement. */
export interface LeakStatement {
  readonly category: string;
  readonly sql: string;
  /** The answers accepted for it (each of them also has to carry no raw form). */
  readonly expect: readonly LeakOutcome[];
  /** The SQL itself holds a guessed value (a guess-confirmation probe): the echoed SQL is not scanned. */
  readonly guess?: boolean;
}

/** Statements read patients with ids 1..LEAK_PATIENTS (and their encounters) only. */
export const LEAK_PATIENTS = 10;

const ANY: readonly LeakOutcome[] = ["masked", "denied", "approval"];
const MASKED: readonly LeakOutcome[] = ["masked"];
const NOT_ANSWERED: readonly LeakOutcome[] = ["denied", "approval"];
const DENIED: readonly LeakOutcome[] = ["denied"];
const APPROVAL: readonly LeakOutcome[] = ["approval"];

const P = `FROM patients WHERE id <= ${LEAK_PATIENTS}`;
const PP = `FROM patients p WHERE p.id <= ${LEAK_PATIENTS}`;
const E = `FROM encounters WHERE patient_id <= ${LEAK_PATIENTS}`;

function group(category: string, expect: readonly LeakOutcome[], sqls: readonly string[]): LeakStatement[] {
  return sqls.map((sql) => ({ category, sql, expect }));
}

/** Every statement of the suite. */
export const LEAK_STATEMENTS: readonly LeakStatement[] = [
  ...group("derived expression", MASKED, [
    `SELECT id, upper(ssn), lower(email), initcap(first_name) ${P}`,
    `SELECT substr(ssn, 1, 3), substring(mrn from 5), left(ssn, 6), right(phone, 8) ${P}`,
    `SELECT reverse(ssn), reverse(last_name) ${P}`,
    `SELECT replace(ssn, '-', ''), translate(ssn, '0123456789', 'abcdefghij') ${P}`,
    `SELECT split_part(email, '@', 1), split_part(address, ' ', 2) ${P}`,
    `SELECT regexp_replace(phone, '\\D', '', 'g'), regexp_replace(ssn, '(\\d)', '\\1 ', 'g') ${P}`,
    `SELECT format('%s', ssn), format('%s|%s', first_name, last_name) ${P}`,
    `SELECT concat(ssn, ''), ssn || '', '' || mrn ${P}`,
    `SELECT overlay(ssn placing 'x' from 1 for 0), lpad(zip, 9, '0'), btrim(' ' || last_name || ' ') ${P}`,
    `SELECT array_to_string(ARRAY[ssn, mrn], ','), (ARRAY[ssn])[1] ${P}`,
    `SELECT ARRAY[ssn], ARRAY[email, phone] ${P}`,
    `SELECT ROW(ssn), (ssn, mrn) ${P}`,
    `SELECT pg_catalog.upper(ssn), "left"(ssn, 3) FROM public.patients WHERE id <= ${LEAK_PATIENTS}`,
    `SELECT length(ssn), octet_length(first_name), ascii(last_name) ${P}`,
    `SELECT ssn OPERATOR(pg_catalog.||) '', (string_to_array(ssn, '-'))[1:2] ${P}`,
  ]),
  ...group("cast", MASKED, [
    `SELECT ssn::text, dob::text, zip::int ${P}`,
    `SELECT mrn::bytea, CAST(phone AS varchar(20)), dob::timestamp ${P}`,
    `SELECT ssn::varchar::text, zip::numeric, address::name ${P}`,
    `SELECT dob - date '1900-01-01', to_char(dob, 'YYYYMMDD') ${P}`,
  ]),
  ...group("concatenation", MASKED, [
    `SELECT ssn || city, first_name || ' ' || last_name ${P}`,
    `SELECT concat_ws(',', id, ssn, state), city || zip ${P}`,
    `SELECT id::text || '/' || mrn, email || '>' || sex ${P}`,
  ]),
  ...group("conditional", MASKED, [
    `SELECT CASE WHEN ssn IS NOT NULL THEN ssn END, CASE id WHEN 1 THEN ssn ELSE mrn END ${P}`,
    `SELECT COALESCE(email, phone), COALESCE(NULL, ssn), NULLIF(ssn, '') ${P}`,
    `SELECT GREATEST(ssn, mrn), LEAST(first_name, last_name) ${P}`,
    `SELECT CASE WHEN ssn LIKE '3%' THEN 'three' ELSE 'other' END, email IS NULL ${P}`,
  ]),
  ...group("CTE and subquery", ANY, [
    `WITH c AS (SELECT id, ssn AS s ${P}) SELECT s FROM c`,
    `WITH a AS (SELECT ssn ${P}), b AS (SELECT ssn AS x FROM a) SELECT upper(x), x FROM b`,
    `WITH c(x, y) AS (SELECT id, ssn ${P}) SELECT y, reverse(y) FROM c`,
    `WITH RECURSIVE r(n, s) AS (SELECT 1, ssn FROM patients WHERE id = 1 UNION ALL SELECT n + 1, reverse(s) FROM r WHERE n < 3) SELECT s FROM r`,
    `WITH RECURSIVE r(n, a, b) AS (SELECT 1, ssn, 'x' FROM patients WHERE id = 1 UNION ALL SELECT n + 1, b, reverse(a) FROM r WHERE n < 3) SELECT a, b FROM r`,
    `SELECT t.x FROM (SELECT ssn AS x ${P}) t`,
    `SELECT x FROM (SELECT * ${P}) AS t(i, x)`,
    `SELECT t.u FROM (SELECT upper(email) AS u FROM (SELECT email ${P}) i) t`,
    `SELECT (SELECT ssn FROM patients WHERE id = 1), (SELECT email FROM patients WHERE id = 2)`,
    `SELECT id, (SELECT p2.email FROM patients p2 WHERE p2.id = p.id) ${PP}`,
    `SELECT ARRAY(SELECT ssn ${P})`,
    `SELECT U&"s\\0073n" ${P}`,
    `SELECT c FROM patients AS p(a, b, c) WHERE a <= ${LEAK_PATIENTS}`,
    `WITH x AS MATERIALIZED (SELECT ssn, mrn ${P}) SELECT * FROM x`,
    `SELECT t.ssn FROM (TABLE patients) t WHERE t.id <= ${LEAK_PATIENTS}`,
  ]),
  ...group("LATERAL and set-returning", ANY, [
    `SELECT u FROM patients p, LATERAL unnest(ARRAY[p.ssn, p.mrn]) u WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT x FROM patients p CROSS JOIN LATERAL regexp_split_to_table(p.ssn, '-') x WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT string_to_array(ssn, '-'), regexp_split_to_array(email, '@') ${P}`,
    `SELECT unnest(string_to_array(email, '@')) ${P}`,
    `SELECT l.s FROM patients p, LATERAL (SELECT p.ssn AS s) l WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT t.* FROM patients p, LATERAL (SELECT upper(p.first_name), p.last_name) t WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT s FROM patients p, LATERAL jsonb_array_elements_text(to_jsonb(ARRAY[p.ssn])) s WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT s.value FROM patients p, LATERAL json_array_elements_text(json_build_array(p.email)) s WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT (SELECT string_agg(x, '') FROM regexp_split_to_table(ssn, '') x) ${P}`,
    `SELECT tsv FROM patients p, to_tsvector('simple', p.email) tsv WHERE p.id <= ${LEAK_PATIENTS}`,
  ]),
  ...group("set operation", ANY, [
    `SELECT ssn ${P} UNION SELECT city ${P}`,
    `SELECT ssn ${P} UNION ALL SELECT mrn ${P}`,
    `SELECT ssn ${P} INTERSECT SELECT ssn ${P}`,
    `SELECT ssn ${P} EXCEPT SELECT ssn FROM patients WHERE id > ${LEAK_PATIENTS} AND id <= ${2 * LEAK_PATIENTS}`,
    `SELECT id::text ${P} UNION ALL SELECT upper(ssn) ${P}`,
    `SELECT 'x' UNION ALL SELECT reverse(email) ${P}`,
    `SELECT first_name ${P} UNION ALL SELECT notes ${E}`,
  ]),
  ...group("VALUES join", ANY, [
    `SELECT v.x, p.ssn FROM (VALUES (1), (2)) v(x) JOIN patients p ON p.id = v.x`,
    `SELECT v.label, upper(p.email) FROM patients p, (VALUES ('a'), ('b')) v(label) WHERE p.id <= 3`,
    `SELECT x FROM (VALUES ('n/a')) v(x) UNION ALL SELECT mrn ${P}`,
  ]),
  ...group("whole row", NOT_ANSWERED, [
    `SELECT p FROM patients p WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT row_to_json(p) ${PP}`,
    `SELECT to_jsonb(p) ${PP}`,
    `SELECT ROW(p.*) ${PP}`,
    `SELECT p::text, format('%s', p) ${PP}`,
    `SELECT concat(p.*) ${PP}`,
    `SELECT patients ${P}`,
    `SELECT ssn(p) ${PP}`,
    `SELECT t.x FROM patients p, LATERAL (SELECT p) t(x) WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT hstore(p) ${PP}`,
    `SELECT (p).* ${PP}`,
    `SELECT (x).ssn FROM (SELECT p AS x ${PP}) s`,
    `SELECT j.s FROM patients p, JSON_TABLE(to_jsonb(p), '$' COLUMNS (s text PATH '$.ssn')) j WHERE p.id <= ${LEAK_PATIENTS}`,
  ]),
  ...group("JSON/XML builder", NOT_ANSWERED, [
    `SELECT json_build_object('s', ssn, 'm', mrn) ${P}`,
    `SELECT jsonb_agg(email) ${P}`,
    `SELECT json_object_agg(id, ssn) ${P}`,
    `SELECT xmlelement(name p, ssn), xmlforest(mrn, dob) ${P}`,
    `SELECT json_build_array(first_name, last_name) ${P}`,
    `SELECT JSON_OBJECT('ssn': ssn) ${P}`,
    `SELECT (xpath('/a/text()', xmlparse(content '<a>' || ssn || '</a>')))[1]::text ${P}`,
    `SELECT xpath('translate(/x/text(), "0123456789", "ABCDEFGHIJ")', xmlelement(name x, ssn)) ${P}`,
  ]),
  ...group("aggregate", ANY, [
    `SELECT min(ssn), max(mrn), min(dob) ${P}`,
    `SELECT string_agg(ssn, ','), array_agg(email) ${P}`,
    `SELECT mode() WITHIN GROUP (ORDER BY ssn) ${P}`,
    `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY dob) ${P}`,
    `SELECT count(DISTINCT zip), count(ssn) ${P}`,
  ]),
  ...group("window", ANY, [
    `SELECT first_value(ssn) OVER (ORDER BY id) ${P}`,
    `SELECT lag(mrn) OVER (ORDER BY id), lead(email) OVER (ORDER BY id) ${P}`,
    `SELECT nth_value(phone, 2) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) ${P}`,
    `SELECT last_value(address) OVER w FROM patients WHERE id <= ${LEAK_PATIENTS} WINDOW w AS (ORDER BY id)`,
  ]),
  ...group("encoding", MASKED, [
    `SELECT encode(convert_to(ssn, 'UTF8'), 'base64'), encode(convert_to(ssn, 'UTF8'), 'hex') ${P}`,
    `SELECT encode(convert_to(email, 'UTF8'), 'escape'), encode(mrn::bytea, 'base64') ${P}`,
    `SELECT to_hex(zip::int), to_hex(replace(ssn, '-', '')::bigint) ${P}`,
    `SELECT ascii(ssn), chr(ascii(first_name)) ${P}`,
    `SELECT quote_literal(ssn), quote_ident(first_name), format('%I', last_name), format('%L', email) ${P}`,
    `SELECT convert_to(address, 'UTF8'), decode(md5(ssn), 'hex') ${P}`,
  ]),
  ...group("hash", MASKED, [
    `SELECT md5(ssn), md5(mrn), md5(email) ${P}`,
    `SELECT sha256(convert_to(ssn, 'UTF8')), encode(sha256(convert_to(phone, 'UTF8')), 'hex') ${P}`,
    `SELECT sha512(convert_to(first_name, 'UTF8')), hashtext(ssn) ${P}`,
  ]),
  ...group("grouping and inference", NOT_ANSWERED, [
    `SELECT ssn, count(*) ${P} GROUP BY ssn`,
    `SELECT DISTINCT ON (ssn) id ${P}`,
    `SELECT DISTINCT zip ${P}`,
    `SELECT id ${P} ORDER BY dob`,
    `SELECT id ${P} AND ssn LIKE '3%'`,
    `SELECT id, row_number() OVER (PARTITION BY zip ORDER BY dob) ${P}`,
    `SELECT count(*) FILTER (WHERE ssn LIKE '3%') ${P}`,
    `SELECT p.id FROM patients p JOIN patients q ON q.ssn = p.ssn WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT string_agg(id::text, ',' ORDER BY ssn) ${P}`,
    `SELECT id ${P} AND EXISTS (SELECT 1 WHERE patients.email LIKE 'n%')`,
  ]),
  ...group("row-count oracle", NOT_ANSWERED, [
    `SELECT generate_series(1, substr(ssn, 1, 3)::int) ${P}`,
    `SELECT p.id FROM patients p, LATERAL generate_series(1, substr(p.ssn, 5, 2)::int) g WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT id ${P} LIMIT (SELECT substr(ssn, 1, 1)::int FROM patients WHERE id = 1)`,
    `SELECT id ${P} OFFSET (SELECT substr(ssn, 2, 1)::int FROM patients WHERE id = 1)`,
    `SELECT id FROM patients TABLESAMPLE BERNOULLI (50) REPEATABLE ((SELECT substr(ssn, 1, 3)::int FROM patients WHERE id = 1)) WHERE id <= ${LEAK_PATIENTS}`,
  ]),
  ...[
    `SELECT ssn ${P} INTERSECT SELECT '389-52-0495'`,
    `SELECT ssn ${P} EXCEPT SELECT '389-52-0495'`,
    `SELECT mrn FROM patients WHERE id = 1 UNION SELECT 'MRN-2054149'`,
  ].map((sql) => ({ category: "row-count oracle", sql, expect: NOT_ANSWERED, guess: true })),
  ...group("catalog and server", DENIED, [
    `SELECT most_common_vals::text FROM pg_stats WHERE attname = 'ssn'`,
    `SELECT relname FROM pg_class LIMIT 3`,
    `SELECT query_to_xml('SELECT ssn ${P}', true, false, '')`,
    `SELECT table_to_xml('patients', true, false, '')`,
    `SELECT x FROM ts_stat('SELECT to_tsvector(''simple'', replace(ssn, ''-'', '''')) ${P}') x`,
    `SELECT x FROM ts_stat('SELECT to_tsvector(''simple'', first_name || '' '' || email) ${P}') x`,
    `SELECT ts_rewrite('a'::tsquery, 'SELECT to_tsquery(''simple'', replace(ssn, ''-'', '''')), ''a''::tsquery FROM patients WHERE id = 1')`,
    `SELECT x FROM pg_stat_get_activity(NULL) x`,
    `COPY patients TO STDOUT`,
    `COPY (SELECT ssn ${P}) TO STDOUT`,
    `SELECT set_config('search_path', 'pg_catalog', true)`,
    `SELECT pg_read_file('postgresql.conf')`,
    `SELECT x FROM pg_catalog.ts_stat('SELECT to_tsvector(''simple'', mrn) ${P}') x`,
    `EXPLAIN ANALYZE SELECT id FROM patients WHERE ssn LIKE '3%'`,
    `SELECT id, ssn ${P} FOR UPDATE`,
  ]),
  ...group("free text", ANY, [
    `SELECT notes ${E}`,
    `SELECT encode(convert_to(notes, 'UTF8'), 'hex') ${E}`,
    `SELECT notes::bytea ${E}`,
    `SELECT reverse(notes) ${E}`,
    `SELECT replace(notes, '-', ''), upper(notes) ${E}`,
    `SELECT regexp_replace(notes, '(\\d)', '\\1 ', 'g') ${E}`,
    `SELECT substr(notes, 1, 60), substr(notes, 61, 60), substr(notes, 121, 60), substr(notes, 181, 60) ${E}`,
    `SELECT string_agg(notes, ' '), json_agg(notes) ${E}`,
    `SELECT to_jsonb(e) FROM encounters e WHERE e.patient_id <= ${LEAK_PATIENTS}`,
    `SELECT e FROM encounters e WHERE e.patient_id <= ${LEAK_PATIENTS}`,
    `SELECT x FROM unnest(regexp_split_to_array((SELECT string_agg(notes, ' ') ${E}), '\\s+')) x`,
    `SELECT id ${E} AND notes LIKE '%SSN 6%'`,
    `SELECT left(notes, 40), notes COLLATE "C" ${E}`,
    `SELECT xmlagg(xmlelement(name n, notes)) ${E}`,
    `SELECT xpath('translate(/x/text(), "0123456789", "ABCDEFGHIJ")', xmlelement(name x, notes)) ${E}`,
    `SELECT x.c FROM encounters e, XMLTABLE('/x' PASSING xmlelement(name x, e.notes) COLUMNS c text PATH 'substring(., 1, 40)') x WHERE e.patient_id <= ${LEAK_PATIENTS}`,
    `SELECT jsonb_path_query_first(to_jsonb(notes), '$ ? (@ like_regex "SSN")') ${E}`,
  ]),
  ...group("plain and bulk", ANY, [
    `SELECT id, ssn, mrn, first_name, last_name, dob ${P}`,
    `SELECT zip, phone, email, address ${P}`,
    `SELECT p.ssn, e.notes FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= ${LEAK_PATIENTS}`,
    `SELECT p.mrn, e.department FROM patients p, encounters e WHERE e.patient_id = p.id AND p.id <= ${LEAK_PATIENTS}`,
    `SELECT current_setting('search_path'), current_user`,
  ]),
  ...group("plain and bulk", APPROVAL, [
    `SELECT * ${P}`,
    `TABLE patients`,
    `SELECT ssn FROM patients`,
    `SELECT p.*, e.* FROM patients p JOIN encounters e ON e.patient_id = p.id`,
    `SELECT id, ssn, mrn, first_name, last_name, dob, zip, phone ${P}`,
  ]),
];

/**
 * Statements that are allowed but fail while running, on a protected value: the error answer must carry no value
 * (PostgreSQL's own message would: `invalid input syntax for type integer: "389-52-0495"`).
 */
export const LEAK_ERROR_STATEMENTS: readonly string[] = [
  `SELECT ssn::int ${P}`,
  `SELECT first_name::int ${P}`,
  `SELECT ssn::date, mrn::uuid ${P}`,
  `SELECT email::json ${P}`,
  `SELECT to_date(phone, 'YYYY-MM-DD') ${P}`,
  `SELECT make_date(2000, substr(ssn, 1, 3)::int, 1) ${P}`,
  `SELECT (SELECT ssn FROM patients WHERE id <= 2)`,
  `SELECT 1 / (substr(ssn, 1, 1)::int - 3) FROM patients WHERE id = 1`,
];

/** Statements that go to approval, are approved, and must then be answered masked like any other. */
export const LEAK_APPROVED_STATEMENTS: readonly string[] = [
  `SELECT * ${P}`,
  `SELECT id, ssn, mrn, first_name, last_name, dob, zip, phone ${P}`,
  `SELECT ssn, count(*) ${P} GROUP BY ssn`,
  `SELECT p.ssn, e.notes FROM patients p JOIN encounters e ON e.patient_id = p.id WHERE p.id <= ${LEAK_PATIENTS}`,
  `SELECT id, notes ${E} AND notes LIKE '%SSN%'`,
  `SELECT u FROM patients p, LATERAL unnest(ARRAY[p.ssn, p.email]) u WHERE p.id <= ${LEAK_PATIENTS}`,
];
