// Table-driven classification tests over the demo schema plus extra objects, with the catalog loaded by CATALOG_SQL from PGlite.
import type { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestError } from "#shared/errors.ts";
import { classify } from "#shared/sql/classify.ts";
import { analyzeSql } from "#shared/sql/parse-and-classify.ts";
import { loadSqlParser, parseStatement } from "#shared/sql/parser.ts";
import type { Catalog, CatalogRoutine, Classification, StatementKind } from "#shared/sql/types.ts";
import { createFixtureDb, loadCatalog } from "./fixture-db.ts";
import { columnsOf, functionsOf, outputsOf, relationKindsOf, relationsOf, wholeRowsOf } from "./format.ts";

/**
 * One statement and what classify must say about it (see format.ts for the notation): relations as
 * `table` (`schema.table` outside public, `table<view` when reached only through a view), columns as
 * `table.column:clause+clause`, functions as `name` (`!` user-defined), whole rows as `table:clauses`,
 * outputs as `name=kind(sources)[transforms]{whole rows}` (`table.*`: every column of a whole row).
 * Every listed field is compared exactly; `wholeRows` defaults to none; `reasons` to none.
 */
interface Case {
  readonly sql: string;
  readonly kind: StatementKind;
  readonly relations: readonly string[];
  readonly columns: readonly string[];
  readonly functions: readonly string[];
  readonly wholeRows?: readonly string[];
  readonly outputs: readonly string[];
  readonly reasons?: readonly string[];
}

const CASES: readonly Case[] = [
  {
    sql: "SELECT id, ssn FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.ssn:output"],
    functions: [],
    outputs: ["id=copy(patients.id)", "ssn=copy(patients.ssn)"],
  },
  {
    sql: "SELECT p.id, p.first_name AS fname FROM patients p",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.first_name:output", "patients.id:output"],
    functions: [],
    outputs: ["id=copy(patients.id)", "fname=copy(patients.first_name)"],
  },
  {
    sql: "SELECT public.patients.ssn FROM public.patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn)"],
  },
  {
    sql: "SELECT * FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: [],
    outputs: [
      "id=copy(patients.id)",
      "mrn=copy(patients.mrn)",
      "ssn=copy(patients.ssn)",
      "first_name=copy(patients.first_name)",
      "last_name=copy(patients.last_name)",
      "dob=copy(patients.dob)",
      "sex=copy(patients.sex)",
      "address=copy(patients.address)",
      "city=copy(patients.city)",
      "state=copy(patients.state)",
      "zip=copy(patients.zip)",
      "phone=copy(patients.phone)",
      "email=copy(patients.email)",
    ],
  },
  {
    sql: "SELECT p.* FROM patients p",
    kind: "read",
    relations: ["patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: [],
    outputs: [
      "id=copy(patients.id)",
      "mrn=copy(patients.mrn)",
      "ssn=copy(patients.ssn)",
      "first_name=copy(patients.first_name)",
      "last_name=copy(patients.last_name)",
      "dob=copy(patients.dob)",
      "sex=copy(patients.sex)",
      "address=copy(patients.address)",
      "city=copy(patients.city)",
      "state=copy(patients.state)",
      "zip=copy(patients.zip)",
      "phone=copy(patients.phone)",
      "email=copy(patients.email)",
    ],
  },
  {
    sql: "SELECT e.*, p.id FROM encounters e JOIN patients p ON p.id = e.patient_id",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: [
      "encounters.admitted_at:output",
      "encounters.department:output",
      "encounters.diagnosis_code:output",
      "encounters.discharged_at:output",
      "encounters.id:output",
      "encounters.notes:output",
      "encounters.patient_id:output+join",
      "patients.id:output+join",
    ],
    functions: [],
    outputs: [
      "id=copy(encounters.id)",
      "patient_id=copy(encounters.patient_id)",
      "admitted_at=copy(encounters.admitted_at)",
      "discharged_at=copy(encounters.discharged_at)",
      "department=copy(encounters.department)",
      "diagnosis_code=copy(encounters.diagnosis_code)",
      "notes=copy(encounters.notes)",
      "id=copy(patients.id)",
    ],
  },
  {
    sql: "SELECT 1",
    kind: "read",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["?column?=constant()"],
  },
  {
    sql: "SELECT 'x' AS label, 42, NULL, true",
    kind: "read",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["label=constant()", "?column?=constant()", "?column?=constant()", "?column?=constant()"],
  },
  {
    sql: "SELECT now(), current_date, current_user",
    kind: "read",
    relations: [],
    columns: [],
    functions: ["current_date", "current_user", "now"],
    outputs: ["now=constant()", "current_date=constant()", "current_user=constant()"],
  },
  {
    sql: "TABLE medications",
    kind: "read",
    relations: ["medications"],
    columns: [
      "medications.dose:output",
      "medications.drug:output",
      "medications.id:output",
      "medications.patient_id:output",
      "medications.started_at:output",
    ],
    functions: [],
    outputs: [
      "id=copy(medications.id)",
      "patient_id=copy(medications.patient_id)",
      "drug=copy(medications.drug)",
      "dose=copy(medications.dose)",
      "started_at=copy(medications.started_at)",
    ],
  },
  {
    sql: "VALUES (1, 'a'), (2, 'b')",
    kind: "read",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["column1=constant()", "column2=constant()"],
  },
  {
    sql: "SELECT * FROM (VALUES (1, 'a')) AS v(n, s)",
    kind: "read",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["n=constant()", "s=constant()"],
  },
  {
    sql: "SELECT v.s FROM patients p, LATERAL (VALUES (p.ssn), (p.mrn)) AS v(s)",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.mrn:output", "patients.ssn:output"],
    functions: [],
    outputs: ["s=copy(patients.ssn,patients.mrn)"],
  },
  {
    sql: "SELECT upper(ssn) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: ["upper"],
    outputs: ["upper=transform(patients.ssn)[function]"],
  },
  {
    sql: "SELECT ssn || '-' || mrn AS combo FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.mrn:output", "patients.ssn:output"],
    functions: [],
    outputs: ["combo=transform(patients.ssn,patients.mrn)[operator]"],
  },
  {
    sql: "SELECT substr(ssn, 1, 3) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: ["substr"],
    outputs: ["substr=transform(patients.ssn)[function]"],
  },
  {
    sql: "SELECT ssn::varchar(3), CAST(dob AS text) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.dob:output", "patients.ssn:output"],
    functions: [],
    outputs: ["ssn=transform(patients.ssn)[cast]", "dob=transform(patients.dob)[cast]"],
  },
  {
    sql: 'SELECT ssn COLLATE "C" FROM patients',
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn)"],
  },
  {
    sql: "SELECT CASE WHEN ssn LIKE '1%' THEN 'a' ELSE 'b' END AS bucket FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: [],
    outputs: ["bucket=transform(patients.ssn)[operator,case]"],
  },
  {
    sql: "SELECT CASE sex WHEN 'F' THEN first_name ELSE last_name END FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.first_name:output", "patients.last_name:output", "patients.sex:output"],
    functions: [],
    outputs: ["last_name=transform(patients.sex,patients.first_name,patients.last_name)[case]"],
  },
  {
    sql: "SELECT COALESCE(phone, email) AS contact FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.email:output", "patients.phone:output"],
    functions: ["coalesce"],
    outputs: ["contact=transform(patients.phone,patients.email)[coalesce]"],
  },
  {
    sql: "SELECT NULLIF(ssn, '') FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: ["nullif"],
    outputs: ["nullif=transform(patients.ssn)[function]"],
  },
  {
    sql: "SELECT GREATEST(dob, '2000-01-01'::date), LEAST(1, 2) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.dob:output"],
    functions: ["greatest", "least"],
    outputs: ["greatest=transform(patients.dob)[function]", "least=constant()"],
  },
  {
    sql: "SELECT count(*) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: [],
    functions: ["count"],
    outputs: ["count=constant()"],
  },
  {
    sql: "SELECT count(ssn), max(dob), string_agg(ssn, ',') FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.dob:output", "patients.ssn:output"],
    functions: ["count", "max", "string_agg"],
    outputs: [
      "count=constant()",
      "max=transform(patients.dob)[aggregate]",
      "string_agg=transform(patients.ssn)[aggregate]",
    ],
  },
  {
    sql: "SELECT state, count(*) FROM patients GROUP BY state",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.state:output+grouping"],
    functions: ["count"],
    outputs: ["state=copy(patients.state)", "count=constant()"],
  },
  {
    sql: "SELECT state, count(*) AS n FROM patients GROUP BY 1 HAVING count(*) > 10 ORDER BY n DESC",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.state:output+grouping"],
    functions: ["count"],
    outputs: ["state=copy(patients.state)", "n=constant()"],
  },
  {
    sql: "SELECT count(*) FILTER (WHERE sex = 'F') FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.sex:predicate"],
    functions: ["count"],
    outputs: ["count=constant()"],
  },
  {
    sql: "SELECT string_agg(first_name, ', ' ORDER BY last_name) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.first_name:output", "patients.last_name:ordering"],
    functions: ["string_agg"],
    outputs: ["string_agg=transform(patients.first_name)[aggregate]"],
  },
  {
    sql: "SELECT array_agg(DISTINCT city) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.city:output"],
    functions: ["array_agg"],
    outputs: ["array_agg=transform(patients.city)[aggregate]"],
  },
  {
    sql: "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY id) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output"],
    functions: ["percentile_cont"],
    outputs: ["percentile_cont=transform(patients.id)[aggregate]"],
  },
  {
    sql: "SELECT row_number() OVER (PARTITION BY state ORDER BY dob) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.dob:window", "patients.state:window"],
    functions: ["row_number"],
    outputs: ["row_number=constant()"],
  },
  {
    sql: "SELECT sum(id) OVER w, rank() OVER w FROM patients WINDOW w AS (PARTITION BY city ORDER BY zip)",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.city:window", "patients.id:output", "patients.zip:window"],
    functions: ["rank", "sum"],
    outputs: ["sum=transform(patients.id)[window]", "rank=constant()"],
  },
  {
    sql: "SELECT lag(ssn) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:window", "patients.ssn:output"],
    functions: ["lag"],
    outputs: ["lag=transform(patients.ssn)[window]"],
  },
  {
    sql: "SELECT state, city, count(*) FROM patients GROUP BY GROUPING SETS ((state), (state, city), ())",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.city:output+grouping", "patients.state:output+grouping"],
    functions: ["count"],
    outputs: ["state=copy(patients.state)", "city=copy(patients.city)", "count=constant()"],
  },
  {
    sql: "SELECT state, zip, count(*) FROM patients GROUP BY ROLLUP (state, zip)",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.state:output+grouping", "patients.zip:output+grouping"],
    functions: ["count"],
    outputs: ["state=copy(patients.state)", "zip=copy(patients.zip)", "count=constant()"],
  },
  {
    sql: "SELECT state, sex, count(*) FROM patients GROUP BY CUBE (state, sex)",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.sex:output+grouping", "patients.state:output+grouping"],
    functions: ["count"],
    outputs: ["state=copy(patients.state)", "sex=copy(patients.sex)", "count=constant()"],
  },
  {
    sql: "SELECT GROUPING(state), state FROM patients GROUP BY ROLLUP (state)",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.state:output+grouping"],
    functions: ["grouping"],
    outputs: ["grouping=transform(patients.state)[function]", "state=copy(patients.state)"],
  },
  {
    sql: "SELECT DISTINCT state FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.state:output+grouping"],
    functions: [],
    outputs: ["state=copy(patients.state)"],
  },
  {
    sql: "SELECT DISTINCT ON (state) state, ssn FROM patients ORDER BY state, dob DESC",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.dob:ordering", "patients.ssn:output", "patients.state:output+grouping+ordering"],
    functions: [],
    outputs: ["state=copy(patients.state)", "ssn=copy(patients.ssn)"],
  },
  {
    sql: "SELECT id FROM patients ORDER BY ssn",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.ssn:ordering"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT first_name AS fn FROM patients ORDER BY fn",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.first_name:output+ordering"],
    functions: [],
    outputs: ["fn=copy(patients.first_name)"],
  },
  {
    sql: "SELECT id FROM patients ORDER BY 1 LIMIT 10 OFFSET 5",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output+ordering"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients LIMIT (SELECT count(*) FROM encounters)",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: ["patients.id:output"],
    functions: ["count"],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients FETCH FIRST 3 ROWS ONLY",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients WHERE ssn = '123-45-6789'",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.ssn:predicate"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients WHERE dob BETWEEN '2000-01-01' AND '2001-01-01' AND sex IN ('F', 'X')",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.dob:predicate", "patients.id:output", "patients.sex:predicate"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients WHERE email ILIKE '%@x.org' OR phone SIMILAR TO '555%'",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.email:predicate", "patients.id:output", "patients.phone:predicate"],
    functions: ["similar_to_escape"],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients WHERE ssn ~ '^1' AND phone IS NOT NULL",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.phone:predicate", "patients.ssn:predicate"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients WHERE ssn = ANY (ARRAY['1', '2'])",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.ssn:predicate"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients WHERE $1::int = id AND last_name = $2",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output+predicate", "patients.last_name:predicate"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT p.ssn, e.department FROM patients p JOIN encounters e ON e.patient_id = p.id",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: [
      "encounters.department:output",
      "encounters.patient_id:join",
      "patients.id:join",
      "patients.ssn:output",
    ],
    functions: [],
    outputs: ["ssn=copy(patients.ssn)", "department=copy(encounters.department)"],
  },
  {
    sql: "SELECT p.id FROM patients p LEFT JOIN encounters e ON e.patient_id = p.id AND e.department = 'ER' WHERE e.id IS NULL",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: [
      "encounters.department:join",
      "encounters.id:predicate",
      "encounters.patient_id:join",
      "patients.id:output+join",
    ],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT * FROM medications JOIN encounters USING (patient_id)",
    kind: "read",
    relations: ["encounters", "medications"],
    columns: [
      "encounters.admitted_at:output",
      "encounters.department:output",
      "encounters.diagnosis_code:output",
      "encounters.discharged_at:output",
      "encounters.id:output",
      "encounters.notes:output",
      "encounters.patient_id:output+join",
      "medications.dose:output",
      "medications.drug:output",
      "medications.id:output",
      "medications.patient_id:output+join",
      "medications.started_at:output",
    ],
    functions: [],
    outputs: [
      "patient_id=copy(medications.patient_id,encounters.patient_id)",
      "id=copy(medications.id)",
      "drug=copy(medications.drug)",
      "dose=copy(medications.dose)",
      "started_at=copy(medications.started_at)",
      "id=copy(encounters.id)",
      "admitted_at=copy(encounters.admitted_at)",
      "discharged_at=copy(encounters.discharged_at)",
      "department=copy(encounters.department)",
      "diagnosis_code=copy(encounters.diagnosis_code)",
      "notes=copy(encounters.notes)",
    ],
  },
  {
    sql: "SELECT patient_id FROM medications m FULL JOIN encounters e USING (patient_id)",
    kind: "read",
    relations: ["encounters", "medications"],
    columns: ["encounters.patient_id:output+join", "medications.patient_id:output+join"],
    functions: [],
    outputs: ["patient_id=transform(medications.patient_id,encounters.patient_id)[coalesce]"],
  },
  {
    sql: "SELECT id FROM patients NATURAL JOIN billing.invoices",
    kind: "read",
    relations: ["billing.invoices", "patients"],
    columns: [
      "billing.invoices.id:output+join",
      "billing.invoices.ssn:join",
      "patients.id:output+join",
      "patients.ssn:join",
    ],
    functions: [],
    outputs: ["id=copy(patients.id,billing.invoices.id)"],
  },
  {
    sql: "SELECT u.patient_id FROM medications JOIN encounters USING (patient_id) AS u",
    kind: "read",
    relations: ["encounters", "medications"],
    columns: ["encounters.patient_id:output+join", "medications.patient_id:output+join"],
    functions: [],
    outputs: ["patient_id=copy(medications.patient_id,encounters.patient_id)"],
  },
  {
    sql: "SELECT j.department FROM (patients p JOIN encounters e ON e.patient_id = p.id) AS j",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: ["encounters.department:output", "encounters.patient_id:join", "patients.id:join"],
    functions: [],
    outputs: ["department=copy(encounters.department)"],
  },
  {
    sql: "SELECT p.ssn FROM patients p CROSS JOIN medications m",
    kind: "read",
    relations: ["medications", "patients"],
    columns: ["patients.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn)"],
  },
  {
    sql: "SELECT ssn FROM patients, billing.invoices",
    kind: "read",
    relations: ["billing.invoices", "patients"],
    columns: ["billing.invoices.ssn:output", "patients.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn,billing.invoices.ssn)"],
  },
  {
    sql: "SELECT id FROM patients p JOIN encounters e ON e.patient_id = p.id",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: ["encounters.id:output", "encounters.patient_id:join", "patients.id:output+join"],
    functions: [],
    outputs: ["id=copy(patients.id,encounters.id)"],
  },
  {
    sql: "SELECT a, b FROM patients AS p(a, b)",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.mrn:output"],
    functions: [],
    outputs: ["a=copy(patients.id)", "b=copy(patients.mrn)"],
  },
  {
    sql: "SELECT x.a, x.ssn FROM patients AS x(a)",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.ssn:output"],
    functions: [],
    outputs: ["a=copy(patients.id)", "ssn=copy(patients.ssn)"],
  },
  {
    sql: "SELECT * FROM medications AS m(a, b, c)",
    kind: "read",
    relations: ["medications"],
    columns: [
      "medications.dose:output",
      "medications.drug:output",
      "medications.id:output",
      "medications.patient_id:output",
      "medications.started_at:output",
    ],
    functions: [],
    outputs: [
      "a=copy(medications.id)",
      "b=copy(medications.patient_id)",
      "c=copy(medications.drug)",
      "dose=copy(medications.dose)",
      "started_at=copy(medications.started_at)",
    ],
  },
  {
    sql: "SELECT e.notes FROM patients p, LATERAL (SELECT notes FROM encounters WHERE patient_id = p.id LIMIT 1) e",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: ["encounters.notes:output", "encounters.patient_id:predicate", "patients.id:predicate"],
    functions: [],
    outputs: ["notes=copy(encounters.notes)"],
  },
  {
    sql: "SELECT p.id, m.drug FROM patients p LEFT JOIN LATERAL (SELECT drug FROM medications WHERE patient_id = p.id) m ON true",
    kind: "read",
    relations: ["medications", "patients"],
    columns: ["medications.drug:output", "medications.patient_id:predicate", "patients.id:output+predicate"],
    functions: [],
    outputs: ["id=copy(patients.id)", "drug=copy(medications.drug)"],
  },
  {
    sql: "SELECT (SELECT max(ssn) FROM patients) AS top_ssn",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: ["max"],
    outputs: ["top_ssn=transform(patients.ssn)[aggregate,subquery]"],
  },
  {
    sql: "SELECT p.id, (SELECT count(*) FROM encounters e WHERE e.patient_id = p.id) AS visits FROM patients p",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: ["encounters.patient_id:predicate", "patients.id:output+predicate"],
    functions: ["count"],
    outputs: ["id=copy(patients.id)", "visits=constant()"],
  },
  {
    sql: "SELECT id FROM patients WHERE id IN (SELECT patient_id FROM encounters WHERE department = 'ER')",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: [
      "encounters.department:predicate",
      "encounters.patient_id:predicate",
      "patients.id:output+predicate",
    ],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients p WHERE EXISTS (SELECT ssn FROM encounters e WHERE e.patient_id = p.id)",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: ["encounters.patient_id:predicate", "patients.id:output+predicate", "patients.ssn:other"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients p WHERE NOT EXISTS (SELECT 1 FROM medications m WHERE m.patient_id = p.id)",
    kind: "read",
    relations: ["medications", "patients"],
    columns: ["medications.patient_id:predicate", "patients.id:output+predicate"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT id FROM patients WHERE id > ALL (SELECT patient_id FROM medications)",
    kind: "read",
    relations: ["medications", "patients"],
    columns: ["medications.patient_id:predicate", "patients.id:output+predicate"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT ARRAY(SELECT drug FROM medications m WHERE m.patient_id = p.id) FROM patients p",
    kind: "read",
    relations: ["medications", "patients"],
    columns: ["medications.drug:output", "medications.patient_id:predicate", "patients.id:predicate"],
    functions: [],
    outputs: ["array=transform(medications.drug)[subquery,array]"],
  },
  {
    sql: "SELECT s.x FROM (SELECT ssn AS x FROM patients) s WHERE s.x LIKE '9%'",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output+predicate"],
    functions: [],
    outputs: ["x=copy(patients.ssn)"],
  },
  {
    sql: "SELECT count(*) FROM (SELECT ssn FROM patients) s",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:other"],
    functions: ["count"],
    outputs: ["count=constant()"],
  },
  {
    sql: "SELECT * FROM (SELECT id, upper(last_name) FROM patients) AS t",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.last_name:output"],
    functions: ["upper"],
    outputs: ["id=copy(patients.id)", "upper=transform(patients.last_name)[function]"],
  },
  {
    sql: "SELECT t.n FROM (SELECT count(*) AS n FROM patients) t",
    kind: "read",
    relations: ["patients"],
    columns: [],
    functions: ["count"],
    outputs: ["n=constant()"],
  },
  {
    sql: "SELECT id FROM patients ORDER BY (SELECT count(*) FROM encounters e WHERE e.patient_id = patients.id) DESC",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: ["encounters.patient_id:predicate", "patients.id:output+predicate"],
    functions: ["count"],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "WITH s AS (SELECT ssn FROM patients) SELECT ssn FROM s",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn)"],
  },
  {
    sql: "WITH s(x) AS (SELECT ssn FROM patients) SELECT upper(x) FROM s",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: ["upper"],
    outputs: ["upper=transform(patients.ssn)[function]"],
  },
  {
    sql: "WITH a AS (SELECT id, ssn FROM patients), b AS (SELECT ssn FROM a) SELECT * FROM b",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:other", "patients.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn)"],
  },
  {
    sql: "WITH patients AS (SELECT 1 AS id) SELECT id FROM patients",
    kind: "read",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["id=constant()"],
  },
  {
    sql: "WITH x AS (SELECT ssn FROM patients) SELECT 1",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:other"],
    functions: [],
    outputs: ["?column?=constant()"],
  },
  {
    sql: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r",
    kind: "read",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["n=constant()"],
  },
  {
    sql: "WITH RECURSIVE chain(id, ssn) AS (SELECT id, ssn FROM patients WHERE id = 1 UNION SELECT p.id, c.ssn FROM patients p JOIN chain c ON p.id = c.id + 1) SELECT ssn FROM chain",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:predicate+join+other", "patients.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn)"],
  },
  {
    sql: "WITH RECURSIVE t(v) AS (SELECT first_name FROM patients UNION ALL SELECT upper(v) FROM t) SELECT v FROM t LIMIT 5",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.first_name:output"],
    functions: ["upper"],
    outputs: ["v=transform(patients.first_name)[function]"],
  },
  {
    sql: "WITH RECURSIVE a(x) AS (SELECT ssn FROM patients UNION SELECT y FROM b), b(y) AS (SELECT x FROM a) SELECT y FROM b",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: [],
    outputs: ["y=copy(patients.ssn)"],
  },
  {
    sql: "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SEARCH DEPTH FIRST BY n SET ord SELECT * FROM t",
    kind: "read",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["n=constant()", "ord=constant()"],
  },
  {
    sql: "WITH m AS MATERIALIZED (SELECT drug FROM medications) SELECT count(*) FROM m",
    kind: "read",
    relations: ["medications"],
    columns: ["medications.drug:other"],
    functions: ["count"],
    outputs: ["count=constant()"],
  },
  {
    sql: "SELECT (WITH c AS (SELECT ssn FROM patients) SELECT max(ssn) FROM c)",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: ["max"],
    outputs: ["max=transform(patients.ssn)[aggregate,subquery]"],
  },
  {
    sql: "SELECT ssn FROM patients UNION SELECT first_name FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.first_name:output+grouping", "patients.ssn:output+grouping"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn,patients.first_name)"],
  },
  {
    sql: "SELECT ssn FROM patients UNION ALL SELECT 'n/a'",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: [],
    outputs: ["ssn=transform(patients.ssn)[set_operation]"],
  },
  {
    sql: "SELECT ssn FROM patients INTERSECT SELECT ssn FROM billing.invoices",
    kind: "read",
    relations: ["billing.invoices", "patients"],
    columns: ["billing.invoices.ssn:output+grouping", "patients.ssn:output+grouping"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn,billing.invoices.ssn)"],
  },
  {
    sql: "SELECT ssn FROM patients EXCEPT SELECT upper(ssn) FROM audit_log",
    kind: "read",
    relations: ["audit_log", "patients"],
    columns: ["audit_log.ssn:predicate+grouping", "patients.ssn:output+grouping"],
    functions: ["upper"],
    outputs: ["ssn=copy(patients.ssn)"],
  },
  {
    sql: "SELECT id, ssn FROM patients UNION SELECT id, notes FROM encounters ORDER BY 2 LIMIT 5",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: [
      "encounters.id:output+grouping",
      "encounters.notes:output+grouping+ordering",
      "patients.id:output+grouping",
      "patients.ssn:output+grouping+ordering",
    ],
    functions: [],
    outputs: ["id=copy(patients.id,encounters.id)", "ssn=copy(patients.ssn,encounters.notes)"],
  },
  {
    sql: "(SELECT mrn FROM patients ORDER BY mrn LIMIT 1) UNION (SELECT drug FROM medications)",
    kind: "read",
    relations: ["medications", "patients"],
    columns: ["medications.drug:output+grouping", "patients.mrn:output+grouping+ordering"],
    functions: [],
    outputs: ["mrn=copy(patients.mrn,medications.drug)"],
  },
  {
    sql: "SELECT x FROM (SELECT ssn AS x FROM patients UNION SELECT notes FROM encounters) u WHERE x IS NOT NULL",
    kind: "read",
    relations: ["encounters", "patients"],
    columns: ["encounters.notes:output+predicate+grouping", "patients.ssn:output+predicate+grouping"],
    functions: [],
    outputs: ["x=copy(patients.ssn,encounters.notes)"],
  },
  {
    sql: "SELECT p FROM patients p",
    kind: "read",
    relations: ["patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: [],
    wholeRows: ["patients:output"],
    outputs: ["p=transform(patients.*)[whole_row]{patients}"],
  },
  {
    sql: "SELECT row_to_json(p) FROM patients p",
    kind: "read",
    relations: ["patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: ["row_to_json"],
    wholeRows: ["patients:output"],
    outputs: ["row_to_json=transform(patients.*)[json_xml,whole_row]{patients}"],
  },
  {
    sql: "SELECT to_jsonb(p.*) FROM patients p",
    kind: "read",
    relations: ["patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: ["to_jsonb"],
    wholeRows: ["patients:output"],
    outputs: ["to_jsonb=transform(patients.*)[json_xml,whole_row]{patients}"],
  },
  {
    sql: "SELECT ROW(p.*) FROM patients p",
    kind: "read",
    relations: ["patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: [],
    wholeRows: ["patients:output"],
    outputs: ["row=transform(patients.*)[whole_row,other]{patients}"],
  },
  {
    sql: "SELECT to_json(patients) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: ["to_json"],
    wholeRows: ["patients:output"],
    outputs: ["to_json=transform(patients.*)[json_xml,whole_row]{patients}"],
  },
  {
    sql: "SELECT (p).ssn FROM patients p",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn)"],
  },
  {
    sql: "SELECT count(p.*) FROM patients p",
    kind: "read",
    relations: ["patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: ["count"],
    wholeRows: ["patients:output"],
    outputs: ["count=constant()"],
  },
  {
    sql: "SELECT row_to_json(s) FROM (SELECT id, ssn FROM patients) s",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.ssn:output"],
    functions: ["row_to_json"],
    wholeRows: ["patients:output"],
    outputs: ["row_to_json=transform(patients.id,patients.ssn)[json_xml,whole_row]{patients}"],
  },
  {
    sql: "SELECT md5(p::text) FROM patients p WHERE p IS NOT NULL",
    kind: "read",
    relations: ["patients"],
    columns: [
      "patients.address:output+predicate",
      "patients.city:output+predicate",
      "patients.dob:output+predicate",
      "patients.email:output+predicate",
      "patients.first_name:output+predicate",
      "patients.id:output+predicate",
      "patients.last_name:output+predicate",
      "patients.mrn:output+predicate",
      "patients.phone:output+predicate",
      "patients.sex:output+predicate",
      "patients.ssn:output+predicate",
      "patients.state:output+predicate",
      "patients.zip:output+predicate",
    ],
    functions: ["md5"],
    wholeRows: ["patients:output+predicate"],
    outputs: ["md5=transform(patients.*)[function,cast,whole_row]{patients}"],
  },
  {
    sql: "SELECT json_agg(e) FROM encounters e",
    kind: "read",
    relations: ["encounters"],
    columns: [
      "encounters.admitted_at:output",
      "encounters.department:output",
      "encounters.diagnosis_code:output",
      "encounters.discharged_at:output",
      "encounters.id:output",
      "encounters.notes:output",
      "encounters.patient_id:output",
    ],
    functions: ["json_agg"],
    wholeRows: ["encounters:output"],
    outputs: ["json_agg=transform(encounters.*)[aggregate,json_xml,whole_row]{encounters}"],
  },
  {
    sql: "SELECT key, value FROM patients p, jsonb_each_text(to_jsonb(p))",
    kind: "read",
    relations: ["patients"],
    columns: [
      "patients.address:output+limit",
      "patients.city:output+limit",
      "patients.dob:output+limit",
      "patients.email:output+limit",
      "patients.first_name:output+limit",
      "patients.id:output+limit",
      "patients.last_name:output+limit",
      "patients.mrn:output+limit",
      "patients.phone:output+limit",
      "patients.sex:output+limit",
      "patients.ssn:output+limit",
      "patients.state:output+limit",
      "patients.zip:output+limit",
    ],
    functions: ["jsonb_each_text", "to_jsonb"],
    wholeRows: ["patients:output+limit"],
    outputs: [
      "key=transform(patients.*)[json_xml,whole_row]{patients}",
      "value=transform(patients.*)[json_xml,whole_row]{patients}",
    ],
  },
  {
    sql: "SELECT json_build_object('ssn', ssn, 'name', first_name) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.first_name:output", "patients.ssn:output"],
    functions: ["json_build_object"],
    outputs: ["json_build_object=transform(patients.ssn,patients.first_name)[json_xml]"],
  },
  {
    sql: "SELECT JSON_OBJECT('k' VALUE ssn), JSON_ARRAY(first_name, last_name) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.first_name:output", "patients.last_name:output", "patients.ssn:output"],
    functions: ["json_array", "json_object"],
    outputs: [
      "json_object=transform(patients.ssn)[json_xml]",
      "json_array=transform(patients.first_name,patients.last_name)[json_xml]",
    ],
  },
  {
    sql: "SELECT JSON_ARRAYAGG(ssn ORDER BY dob) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.dob:ordering", "patients.ssn:output"],
    functions: ["json_arrayagg"],
    outputs: ["json_arrayagg=transform(patients.ssn)[aggregate,json_xml]"],
  },
  {
    sql: "SELECT JSON_VALUE(notes::jsonb, '$.a') FROM encounters",
    kind: "read",
    relations: ["encounters"],
    columns: ["encounters.notes:output"],
    functions: ["json_value"],
    outputs: ["json_value=transform(encounters.notes)[function,cast,json_xml]"],
  },
  {
    sql: "SELECT xmlelement(name patient, xmlattributes(id AS id), ssn) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.ssn:output"],
    functions: ["xmlelement"],
    outputs: ["xmlelement=transform(patients.id,patients.ssn)[json_xml]"],
  },
  {
    sql: "SELECT xmlagg(xmlelement(name x, ssn)) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: ["xmlagg", "xmlelement"],
    outputs: ["xmlagg=transform(patients.ssn)[aggregate,json_xml]"],
  },
  {
    sql: "SELECT jt.* FROM encounters e, JSON_TABLE(e.notes::jsonb, '$[*]' COLUMNS (a text PATH '$.a', n FOR ORDINALITY)) AS jt",
    kind: "read",
    relations: ["encounters"],
    columns: ["encounters.notes:output+limit"],
    functions: ["json_table"],
    outputs: ["a=transform(encounters.notes)[function,cast,json_xml]", "n=constant()"],
  },
  {
    sql: "SELECT x.* FROM patients p, XMLTABLE('/r' PASSING xmlparse(document p.address) COLUMNS street text PATH 's') AS x",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.address:output+limit"],
    functions: ["xmlparse", "xmltable"],
    outputs: ["street=transform(patients.address)[function,json_xml]"],
  },
  {
    sql: "SELECT x.* FROM patients p, XMLTABLE('/r' PASSING xmlparse(document p.address) COLUMNS street text, n FOR ORDINALITY) AS x",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.address:output+limit"],
    functions: ["xmlparse", "xmltable"],
    outputs: ["street=transform(patients.address)[json_xml]", "n=constant()"],
  },
  {
    sql: "SELECT jt.* FROM encounters e, JSON_TABLE(e.notes::jsonb, '$[*]' COLUMNS (a text, b text DEFAULT e.department ON EMPTY, c boolean EXISTS, NESTED PATH '$.n[*]' COLUMNS (d text))) AS jt",
    kind: "read",
    relations: ["encounters"],
    columns: ["encounters.department:output", "encounters.notes:output+limit"],
    functions: ["json_table"],
    outputs: [
      "a=transform(encounters.notes)[cast,json_xml]",
      "b=transform(encounters.notes,encounters.department)[cast,json_xml]",
      "c=transform(encounters.notes)[function,cast,json_xml]",
      "d=transform(encounters.notes)[function,cast,json_xml]",
    ],
  },
  {
    sql: "SELECT xpath('substring(/x/text(), 1, 40)', xmlelement(name x, notes)), json_extract_path_text(notes::json, 'a'), json_build_object('n', notes) FROM encounters",
    kind: "read",
    relations: ["encounters"],
    columns: ["encounters.notes:output"],
    functions: ["json_build_object", "json_extract_path_text", "xmlelement", "xpath"],
    outputs: [
      "xpath=transform(encounters.notes)[function,json_xml]",
      "json_extract_path_text=transform(encounters.notes)[function,cast,json_xml]",
      "json_build_object=transform(encounters.notes)[json_xml]",
    ],
  },
  {
    sql: "SELECT g FROM generate_series(1, 3) AS g",
    kind: "read",
    relations: [],
    columns: [],
    functions: ["generate_series"],
    outputs: ["g=constant()"],
  },
  {
    sql: "SELECT * FROM generate_series(1, 3) WITH ORDINALITY AS t(v, i)",
    kind: "read",
    relations: [],
    columns: [],
    functions: ["generate_series"],
    outputs: ["v=constant()", "i=constant()"],
  },
  {
    sql: "SELECT * FROM unnest(ARRAY(SELECT ssn FROM patients)) AS u(v)",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output+limit+other"],
    functions: ["unnest"],
    outputs: ["v=transform(patients.ssn)[function,subquery,array]"],
  },
  {
    sql: "SELECT * FROM ROWS FROM (generate_series(1, 2), unnest(ARRAY['a'])) AS r(a, b)",
    kind: "read",
    relations: [],
    columns: [],
    functions: ["generate_series", "unnest"],
    outputs: ["a=constant()", "b=constant()"],
  },
  {
    sql: "SELECT * FROM json_to_record('{\"a\":1}') AS x(a int, b text)",
    kind: "read",
    relations: [],
    columns: [],
    functions: ["json_to_record"],
    outputs: ["a=constant()", "b=constant()"],
  },
  {
    sql: "SELECT * FROM json_populate_record(null::medications, '{}')",
    kind: "read",
    relations: [],
    columns: [],
    functions: ["json_populate_record"],
    outputs: [
      "id=constant()",
      "patient_id=constant()",
      "drug=constant()",
      "dose=constant()",
      "started_at=constant()",
    ],
  },
  {
    sql: "SELECT * FROM medications TABLESAMPLE SYSTEM (10) REPEATABLE (1)",
    kind: "read",
    relations: ["medications"],
    columns: [
      "medications.dose:output",
      "medications.drug:output",
      "medications.id:output",
      "medications.patient_id:output",
      "medications.started_at:output",
    ],
    functions: [],
    outputs: [
      "id=copy(medications.id)",
      "patient_id=copy(medications.patient_id)",
      "drug=copy(medications.drug)",
      "dose=copy(medications.dose)",
      "started_at=copy(medications.started_at)",
    ],
  },
  {
    sql: "SELECT arr[1] FROM (SELECT ARRAY[ssn, mrn] AS arr FROM patients) s",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.mrn:output", "patients.ssn:output"],
    functions: [],
    outputs: ["arr=transform(patients.ssn,patients.mrn)[array,other]"],
  },
  {
    sql: "SELECT id FROM patients WHERE ssn === '1'",
    kind: "call",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.ssn:predicate"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
    reasons: ["user_operator:public.==="],
  },
  {
    sql: "SELECT 1 OPERATOR(pg_catalog.+) 2",
    kind: "read",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["?column?=constant()"],
  },
  {
    sql: "SELECT substring(ssn FROM 1 FOR 3), extract(year FROM dob), trim(city) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.city:output", "patients.dob:output", "patients.ssn:output"],
    functions: ["btrim", "extract", "substring"],
    outputs: [
      "substring=transform(patients.ssn)[function]",
      "extract=transform(patients.dob)[function]",
      "btrim=transform(patients.city)[function]",
    ],
  },
  {
    sql: "SELECT admitted_at AT TIME ZONE 'UTC' FROM encounters",
    kind: "read",
    relations: ["encounters"],
    columns: ["encounters.admitted_at:output"],
    functions: ["timezone"],
    outputs: ["timezone=transform(encounters.admitted_at)[function]"],
  },
  {
    sql: "SELECT ssn FROM billing.invoices",
    kind: "read",
    relations: ["billing.invoices"],
    columns: ["billing.invoices.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(billing.invoices.ssn)"],
  },
  {
    sql: "SELECT note FROM billing.patients",
    kind: "read",
    relations: ["billing.patients"],
    columns: ["billing.patients.note:output"],
    functions: [],
    outputs: ["note=copy(billing.patients.note)"],
  },
  {
    sql: "SELECT i.ssn, p.ssn FROM billing.invoices i JOIN patients p ON p.id = i.patient_id",
    kind: "read",
    relations: ["billing.invoices", "patients"],
    columns: [
      "billing.invoices.patient_id:join",
      "billing.invoices.ssn:output",
      "patients.id:join",
      "patients.ssn:output",
    ],
    functions: [],
    outputs: ["ssn=copy(billing.invoices.ssn)", "ssn=copy(patients.ssn)"],
  },
  {
    sql: "SELECT relname FROM pg_class",
    kind: "read",
    relations: ["pg_catalog.pg_class"],
    columns: ["pg_catalog.pg_class.relname:output"],
    functions: [],
    outputs: ["relname=copy(pg_catalog.pg_class.relname)"],
  },
  {
    sql: "SELECT last_value FROM patient_seq",
    kind: "read",
    relations: ["patient_seq"],
    columns: ["patient_seq.last_value:output"],
    functions: [],
    outputs: ["last_value=copy(patient_seq.last_value)"],
  },
  {
    sql: "SELECT * FROM events WHERE happened > '2024-06-01'",
    kind: "read",
    relations: ["events"],
    columns: ["events.happened:output+predicate", "events.id:output", "events.payload:output"],
    functions: [],
    outputs: ["id=copy(events.id)", "happened=copy(events.happened)", "payload=copy(events.payload)"],
  },
  {
    sql: "SELECT * FROM nonexistent",
    kind: "read",
    relations: ["nonexistent"],
    columns: [],
    functions: [],
    outputs: [],
  },
  {
    sql: "SELECT nosuchcol FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.nosuchcol:output"],
    functions: [],
    outputs: ["nosuchcol=copy(patients.nosuchcol)"],
  },
  {
    sql: "SELECT p.nosuch FROM patients p",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.nosuch:output"],
    functions: [],
    outputs: ["nosuch=copy(patients.nosuch)"],
  },
  {
    sql: "SELECT q.id FROM patients p",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:output"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
  },
  {
    sql: "SELECT last_name_upper FROM patient_summary",
    kind: "read",
    relations: ["patient_summary", "patients<patient_summary"],
    columns: ["patient_summary.last_name_upper:output", "patients.last_name:output"],
    functions: ["upper"],
    outputs: ["last_name_upper=transform(patient_summary.last_name_upper,patients.last_name)[function]"],
  },
  {
    sql: "SELECT * FROM patient_summary WHERE dob > '2000-01-01'",
    kind: "read",
    relations: ["patient_summary", "patients<patient_summary"],
    columns: [
      "patient_summary.dob:output+predicate",
      "patient_summary.id:output",
      "patient_summary.last_name_upper:output",
      "patient_summary.ssn:output",
      "patients.dob:output+predicate",
      "patients.id:output",
      "patients.last_name:output",
      "patients.ssn:output",
    ],
    functions: ["upper"],
    outputs: [
      "id=copy(patient_summary.id,patients.id)",
      "last_name_upper=transform(patient_summary.last_name_upper,patients.last_name)[function]",
      "ssn=copy(patient_summary.ssn,patients.ssn)",
      "dob=copy(patient_summary.dob,patients.dob)",
    ],
  },
  {
    sql: "SELECT ssn FROM billing.invoice_view",
    kind: "read",
    relations: [
      "billing.invoice_view",
      "billing.invoices<billing.invoice_view",
      "patients<billing.invoice_view",
    ],
    columns: [
      "billing.invoice_view.ssn:output",
      "billing.invoices.patient_id:join",
      "patients.id:join",
      "patients.ssn:output",
    ],
    functions: [],
    outputs: ["ssn=copy(billing.invoice_view.ssn,patients.ssn)"],
  },
  {
    sql: "SELECT name FROM summary_of_summary",
    kind: "read",
    relations: [
      "patient_summary<summary_of_summary",
      "patients<summary_of_summary,patient_summary",
      "summary_of_summary",
    ],
    columns: [
      "patient_summary.last_name_upper:output",
      "patients.last_name:output",
      "summary_of_summary.name:output",
    ],
    functions: ["upper"],
    outputs: [
      "name=transform(summary_of_summary.name,patient_summary.last_name_upper,patients.last_name)[function]",
    ],
  },
  {
    sql: "SELECT department, n FROM dept_counts",
    kind: "read",
    relations: ["dept_counts", "encounters<dept_counts"],
    columns: [
      "dept_counts.department:output",
      "dept_counts.n:output",
      "encounters.department:output+grouping",
    ],
    functions: ["count"],
    outputs: ["department=copy(dept_counts.department,encounters.department)", "n=copy(dept_counts.n)"],
  },
  {
    sql: "SELECT * FROM patients FOR UPDATE",
    kind: "lock",
    relations: ["patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: [],
    outputs: [
      "id=copy(patients.id)",
      "mrn=copy(patients.mrn)",
      "ssn=copy(patients.ssn)",
      "first_name=copy(patients.first_name)",
      "last_name=copy(patients.last_name)",
      "dob=copy(patients.dob)",
      "sex=copy(patients.sex)",
      "address=copy(patients.address)",
      "city=copy(patients.city)",
      "state=copy(patients.state)",
      "zip=copy(patients.zip)",
      "phone=copy(patients.phone)",
      "email=copy(patients.email)",
    ],
    reasons: ["locking_clause"],
  },
  {
    sql: "SELECT id FROM encounters FOR SHARE OF encounters SKIP LOCKED",
    kind: "lock",
    relations: ["encounters"],
    columns: ["encounters.id:output"],
    functions: [],
    outputs: ["id=copy(encounters.id)"],
    reasons: ["locking_clause"],
  },
  {
    sql: "SELECT * FROM (SELECT id FROM patients FOR KEY SHARE) s",
    kind: "lock",
    relations: ["patients"],
    columns: ["patients.id:output"],
    functions: [],
    outputs: ["id=copy(patients.id)"],
    reasons: ["locking_clause"],
  },
  {
    sql: "SELECT * INTO TEMP copy_of_patients FROM patients",
    kind: "write",
    relations: ["copy_of_patients", "patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: [],
    outputs: [
      "id=copy(patients.id)",
      "mrn=copy(patients.mrn)",
      "ssn=copy(patients.ssn)",
      "first_name=copy(patients.first_name)",
      "last_name=copy(patients.last_name)",
      "dob=copy(patients.dob)",
      "sex=copy(patients.sex)",
      "address=copy(patients.address)",
      "city=copy(patients.city)",
      "state=copy(patients.state)",
      "zip=copy(patients.zip)",
      "phone=copy(patients.phone)",
      "email=copy(patients.email)",
    ],
    reasons: ["select_into"],
  },
  {
    sql: "SELECT nextval('patient_seq')",
    kind: "write",
    relations: [],
    columns: [],
    functions: ["nextval"],
    outputs: ["nextval=constant()"],
    reasons: ["function:nextval"],
  },
  {
    sql: "SELECT setval('patient_seq', 10)",
    kind: "write",
    relations: [],
    columns: [],
    functions: ["setval"],
    outputs: ["setval=constant()"],
    reasons: ["function:setval"],
  },
  {
    sql: "SELECT currval('patient_seq')",
    kind: "read",
    relations: [],
    columns: [],
    functions: ["currval"],
    outputs: ["currval=constant()"],
  },
  {
    sql: "SELECT lo_import('/etc/hostname')",
    kind: "write",
    relations: [],
    columns: [],
    functions: ["lo_import"],
    outputs: ["lo_import=constant()"],
    reasons: ["function:lo_import"],
  },
  {
    sql: "SELECT pg_advisory_lock(1)",
    kind: "lock",
    relations: [],
    columns: [],
    functions: ["pg_advisory_lock"],
    outputs: ["pg_advisory_lock=constant()"],
    reasons: ["function:pg_advisory_lock"],
  },
  {
    sql: "SELECT set_config('search_path', 'billing', false)",
    kind: "session",
    relations: [],
    columns: [],
    functions: ["set_config"],
    outputs: ["set_config=constant()"],
    reasons: ["function:set_config"],
  },
  {
    sql: "SELECT mask_ssn(ssn) FROM patients",
    kind: "call",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: ["mask_ssn!"],
    outputs: ["mask_ssn=transform(patients.ssn)[function]!"],
    reasons: ["user_function:public.mask_ssn"],
  },
  {
    sql: "SELECT touch_audit()",
    kind: "call",
    relations: [],
    columns: [],
    functions: ["touch_audit!"],
    outputs: ["touch_audit=transform()[function]!"],
    reasons: ["user_function:public.touch_audit"],
  },
  {
    sql: "SELECT billing.total(id) FROM patients",
    kind: "call",
    relations: ["patients"],
    columns: ["patients.id:output"],
    functions: ["billing.total!"],
    outputs: ["total=transform(patients.id)[function]!"],
    reasons: ["user_function:billing.total"],
  },
  {
    sql: "SELECT concat_all(ssn) FROM patients",
    kind: "call",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: ["concat_all!"],
    outputs: ["concat_all=transform(patients.ssn)[aggregate]!"],
    reasons: ["user_function:public.concat_all"],
  },
  {
    sql: "SELECT pg_catalog.upper(ssn) FROM patients",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.ssn:output"],
    functions: ["pg_catalog.upper"],
    outputs: ["upper=transform(patients.ssn)[function]"],
  },
  {
    sql: "WITH d AS (DELETE FROM audit_log RETURNING ssn) SELECT * FROM d",
    kind: "write",
    relations: ["audit_log"],
    columns: ["audit_log.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(audit_log.ssn)"],
    reasons: ["data_modifying_cte", "delete"],
  },
  {
    sql: "WITH i AS (INSERT INTO audit_log (id, ssn) SELECT id, ssn FROM patients RETURNING id) SELECT count(*) FROM i",
    kind: "write",
    relations: ["audit_log", "patients"],
    columns: ["audit_log.id:other", "patients.id:other", "patients.ssn:other"],
    functions: ["count"],
    outputs: ["count=constant()"],
    reasons: ["data_modifying_cte", "insert"],
  },
  {
    sql: "SELECT pg_read_file('/etc/hostname')",
    kind: "read",
    relations: [],
    columns: [],
    functions: ["pg_read_file"],
    outputs: ["pg_read_file=transform()[function]!"],
    reasons: ["opaque_read:pg_read_file"],
  },
  {
    sql: "INSERT INTO audit_log (id, ssn) VALUES (1, 'x')",
    kind: "write",
    relations: ["audit_log"],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["insert"],
  },
  {
    sql: "INSERT INTO audit_log (id, ssn) SELECT id, ssn FROM patients RETURNING ssn",
    kind: "write",
    relations: ["audit_log", "patients"],
    columns: ["audit_log.ssn:output", "patients.id:other", "patients.ssn:output+other"],
    functions: [],
    outputs: ["ssn=copy(audit_log.ssn,patients.ssn)"],
    reasons: ["insert"],
  },
  {
    sql: "INSERT INTO audit_log (id) VALUES (1) ON CONFLICT DO NOTHING",
    kind: "write",
    relations: ["audit_log"],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["insert"],
  },
  {
    sql: "UPDATE encounters SET notes = upper(notes) WHERE id = 1 RETURNING old.notes, new.notes",
    kind: "write",
    relations: ["encounters"],
    columns: ["encounters.id:predicate", "encounters.notes:output+other"],
    functions: ["upper"],
    outputs: ["notes=copy(encounters.notes)", "notes=transform(encounters.notes)[function]"],
    reasons: ["update"],
  },
  {
    sql: "UPDATE encounters e SET department = p.state FROM patients p WHERE p.id = e.patient_id",
    kind: "write",
    relations: ["encounters", "patients"],
    columns: ["encounters.patient_id:predicate", "patients.id:predicate", "patients.state:other"],
    functions: [],
    outputs: [],
    reasons: ["update"],
  },
  {
    sql: "UPDATE medications SET (drug, dose) = (SELECT 'x', 'y') WHERE id = 1",
    kind: "write",
    relations: ["medications"],
    columns: ["medications.id:predicate"],
    functions: [],
    outputs: [],
    reasons: ["update"],
  },
  {
    sql: "DELETE FROM encounters e USING patients p WHERE e.patient_id = p.id AND p.ssn = '1' RETURNING p.ssn",
    kind: "write",
    relations: ["encounters", "patients"],
    columns: ["encounters.patient_id:predicate", "patients.id:predicate", "patients.ssn:output+predicate"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn)"],
    reasons: ["delete"],
  },
  {
    sql: "MERGE INTO audit_log a USING patients p ON a.patient_id = p.id WHEN MATCHED THEN UPDATE SET ssn = p.ssn WHEN NOT MATCHED THEN INSERT (id, ssn) VALUES (p.id, p.ssn)",
    kind: "write",
    relations: ["audit_log", "patients"],
    columns: ["audit_log.patient_id:join", "patients.id:join+other", "patients.ssn:other"],
    functions: [],
    outputs: [],
    reasons: ["merge"],
  },
  {
    sql: "TRUNCATE audit_log",
    kind: "write",
    relations: ["audit_log"],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["truncate"],
  },
  {
    sql: "EXPLAIN SELECT * FROM patients",
    kind: "explain",
    relations: ["patients"],
    columns: [
      "patients.address:other",
      "patients.city:other",
      "patients.dob:other",
      "patients.email:other",
      "patients.first_name:other",
      "patients.id:other",
      "patients.last_name:other",
      "patients.mrn:other",
      "patients.phone:other",
      "patients.sex:other",
      "patients.ssn:other",
      "patients.state:other",
      "patients.zip:other",
    ],
    functions: [],
    outputs: ["QUERY PLAN=constant()"],
  },
  {
    sql: "EXPLAIN ANALYZE SELECT ssn FROM patients",
    kind: "explain",
    relations: ["patients"],
    columns: ["patients.ssn:other"],
    functions: [],
    outputs: ["QUERY PLAN=constant()"],
    reasons: ["explain_analyze"],
  },
  {
    sql: "EXPLAIN ANALYZE DELETE FROM audit_log",
    kind: "write",
    relations: ["audit_log"],
    columns: [],
    functions: [],
    outputs: ["QUERY PLAN=constant()"],
    reasons: ["delete", "explain_analyze"],
  },
  {
    sql: "EXPLAIN (ANALYZE false, COSTS off) UPDATE audit_log SET ssn = NULL",
    kind: "explain",
    relations: ["audit_log"],
    columns: [],
    functions: [],
    outputs: ["QUERY PLAN=constant()"],
    reasons: ["update"],
  },
  {
    sql: "COPY patients TO STDOUT",
    kind: "copy",
    relations: ["patients"],
    columns: [
      "patients.address:output",
      "patients.city:output",
      "patients.dob:output",
      "patients.email:output",
      "patients.first_name:output",
      "patients.id:output",
      "patients.last_name:output",
      "patients.mrn:output",
      "patients.phone:output",
      "patients.sex:output",
      "patients.ssn:output",
      "patients.state:output",
      "patients.zip:output",
    ],
    functions: [],
    outputs: [
      "id=copy(patients.id)",
      "mrn=copy(patients.mrn)",
      "ssn=copy(patients.ssn)",
      "first_name=copy(patients.first_name)",
      "last_name=copy(patients.last_name)",
      "dob=copy(patients.dob)",
      "sex=copy(patients.sex)",
      "address=copy(patients.address)",
      "city=copy(patients.city)",
      "state=copy(patients.state)",
      "zip=copy(patients.zip)",
      "phone=copy(patients.phone)",
      "email=copy(patients.email)",
    ],
    reasons: ["copy_to_stdio"],
  },
  {
    sql: "COPY (SELECT id, upper(ssn) FROM patients) TO STDOUT WITH (FORMAT csv)",
    kind: "copy",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.ssn:output"],
    functions: ["upper"],
    outputs: ["id=copy(patients.id)", "upper=transform(patients.ssn)[function]"],
    reasons: ["copy_to_stdio"],
  },
  {
    sql: "COPY patients (id, ssn) TO PROGRAM 'gzip > /tmp/p.gz'",
    kind: "copy",
    relations: ["patients"],
    columns: ["patients.id:output", "patients.ssn:output"],
    functions: [],
    outputs: ["id=copy(patients.id)", "ssn=copy(patients.ssn)"],
    reasons: ["copy_to_program"],
  },
  {
    sql: "COPY audit_log FROM STDIN",
    kind: "copy",
    relations: ["audit_log"],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["copy_from", "copy_from_stdio"],
  },
  {
    sql: "COPY audit_log FROM '/tmp/x.csv'",
    kind: "copy",
    relations: ["audit_log"],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["copy_from", "copy_from_file"],
  },
  {
    sql: "SELECT query_to_xml('SELECT ssn FROM patients', true, false, '')",
    kind: "call",
    relations: [],
    columns: [],
    functions: ["query_to_xml"],
    outputs: ["query_to_xml=transform()[json_xml]!"],
    reasons: ["dynamic_sql:query_to_xml"],
  },
  {
    sql: "SELECT table_to_xml('patients', true, false, '') AS x",
    kind: "call",
    relations: [],
    columns: [],
    functions: ["table_to_xml"],
    outputs: ["x=transform()[json_xml]!"],
    reasons: ["dynamic_sql:table_to_xml"],
  },
  {
    sql: "WITH RECURSIVE r(a, b, c) AS (SELECT ssn, mrn, email FROM patients UNION SELECT b, c, a FROM r) SELECT a FROM r",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.email:output+other", "patients.mrn:output+other", "patients.ssn:output+other"],
    functions: [],
    outputs: ["a=copy(patients.ssn,patients.mrn,patients.email)"],
  },
  {
    sql: "CALL add_audit(1)",
    kind: "call",
    relations: [],
    columns: [],
    functions: ["add_audit!"],
    outputs: [],
    reasons: ["user_function:public.add_audit"],
  },
  {
    sql: "DO $$ BEGIN PERFORM 1; END $$",
    kind: "call",
    relations: [],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["do_block"],
  },
  {
    sql: "SET search_path = billing",
    kind: "session",
    relations: [],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["set:search_path"],
  },
  {
    sql: "SET LOCAL statement_timeout = '1s'",
    kind: "session",
    relations: [],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["set:statement_timeout"],
  },
  {
    sql: "SHOW search_path",
    kind: "session",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["search_path=constant()"],
  },
  {
    sql: "RESET ALL",
    kind: "session",
    relations: [],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["set:all"],
  },
  { sql: "BEGIN READ ONLY", kind: "transaction", relations: [], columns: [], functions: [], outputs: [] },
  { sql: "COMMIT", kind: "transaction", relations: [], columns: [], functions: [], outputs: [] },
  { sql: "SAVEPOINT s1", kind: "transaction", relations: [], columns: [], functions: [], outputs: [] },
  {
    sql: "LOCK TABLE patients IN ACCESS SHARE MODE",
    kind: "lock",
    relations: ["patients"],
    columns: [],
    functions: [],
    outputs: [],
  },
  { sql: "LISTEN chan", kind: "utility", relations: [], columns: [], functions: [], outputs: [] },
  { sql: "NOTIFY chan, 'x'", kind: "utility", relations: [], columns: [], functions: [], outputs: [] },
  {
    sql: "PREPARE q(int) AS SELECT ssn FROM patients WHERE id = $1",
    kind: "session",
    relations: ["patients"],
    columns: ["patients.id:predicate", "patients.ssn:other"],
    functions: [],
    outputs: [],
  },
  {
    sql: "EXECUTE q(1)",
    kind: "unknown",
    relations: [],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["execute_prepared"],
  },
  { sql: "DEALLOCATE q", kind: "session", relations: [], columns: [], functions: [], outputs: [] },
  {
    sql: "DECLARE c CURSOR FOR SELECT ssn FROM patients",
    kind: "utility",
    relations: ["patients"],
    columns: ["patients.ssn:other"],
    functions: [],
    outputs: [],
  },
  { sql: "FETCH 10 FROM c", kind: "utility", relations: [], columns: [], functions: [], outputs: [] },
  {
    sql: "CREATE TABLE t_new (id int)",
    kind: "ddl",
    relations: ["t_new"],
    columns: [],
    functions: [],
    outputs: [],
  },
  {
    sql: "CREATE TABLE t_copy AS SELECT ssn FROM patients",
    kind: "ddl",
    relations: ["patients", "t_copy"],
    columns: ["patients.ssn:other"],
    functions: [],
    outputs: [],
  },
  {
    sql: "CREATE VIEW v_new AS SELECT id, ssn FROM patients",
    kind: "ddl",
    relations: ["patients", "v_new"],
    columns: ["patients.id:other", "patients.ssn:other"],
    functions: [],
    outputs: [],
  },
  {
    sql: "ALTER TABLE patients ADD COLUMN nickname text",
    kind: "ddl",
    relations: ["patients"],
    columns: [],
    functions: [],
    outputs: [],
  },
  {
    sql: "DROP TABLE audit_log",
    kind: "ddl",
    relations: ["audit_log"],
    columns: [],
    functions: [],
    outputs: [],
  },
  {
    sql: "CREATE INDEX ON patients (ssn)",
    kind: "ddl",
    relations: ["patients"],
    columns: [],
    functions: [],
    outputs: [],
  },
  {
    sql: "GRANT SELECT ON patients TO PUBLIC",
    kind: "ddl",
    relations: ["patients"],
    columns: [],
    functions: [],
    outputs: [],
  },
  {
    sql: "VACUUM patients",
    kind: "utility",
    relations: ["patients"],
    columns: [],
    functions: [],
    outputs: [],
  },
  {
    sql: "ANALYZE encounters",
    kind: "utility",
    relations: ["encounters"],
    columns: [],
    functions: [],
    outputs: [],
  },
  {
    sql: "REFRESH MATERIALIZED VIEW dept_counts",
    kind: "write",
    relations: ["dept_counts"],
    columns: [],
    functions: [],
    outputs: [],
    reasons: ["refresh_materialized_view"],
  },
  { sql: "DISCARD ALL", kind: "session", relations: [], columns: [], functions: [], outputs: [] },
  { sql: "CHECKPOINT", kind: "utility", relations: [], columns: [], functions: [], outputs: [] },
  {
    sql: "CREATE FUNCTION f2() RETURNS int LANGUAGE sql RETURN (SELECT count(*) FROM patients)",
    kind: "ddl",
    relations: ["patients"],
    columns: [],
    functions: ["count"],
    outputs: [],
  },
  {
    sql: "COMMENT ON TABLE patients IS 'x'",
    kind: "ddl",
    relations: ["patients"],
    columns: [],
    functions: [],
    outputs: [],
  },
  {
    sql: "SELECT ssn FROM patients WHERE id = $2 LIMIT $1",
    kind: "read",
    relations: ["patients"],
    columns: ["patients.id:predicate", "patients.ssn:output"],
    functions: [],
    outputs: ["ssn=copy(patients.ssn)"],
  },
  {
    sql: "SELECT 1 LIMIT 0",
    kind: "read",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["?column?=constant()"],
  },
  {
    sql: "SELECT 1 LIMIT ALL",
    kind: "read",
    relations: [],
    columns: [],
    functions: [],
    outputs: ["?column?=constant()"],
  },
];

let db: PGlite;
let catalog: Catalog;

beforeAll(async () => {
  await loadSqlParser();
  db = await createFixtureDb();
  catalog = await loadCatalog(db);
});

afterAll(async () => {
  await db.close();
});

function classification(sql: string): Classification {
  return analyzeSql(sql, catalog).classification;
}

describe("classify, table-driven", () => {
  it("has at least 150 cases and no duplicates", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(150);
    expect(new Set(CASES.map((c) => c.sql)).size).toBe(CASES.length);
  });

  it.each(CASES)("$sql", (c) => {
    const result = classification(c.sql);
    expect({
      kind: result.kind,
      relations: relationsOf(result),
      columns: columnsOf(result),
      functions: functionsOf(result),
      wholeRows: wholeRowsOf(result),
      outputs: outputsOf(result, catalog),
      reasons: result.reasons ?? [],
    }).toEqual({
      kind: c.kind,
      relations: c.relations,
      columns: c.columns,
      functions: c.functions,
      wholeRows: c.wholeRows ?? [],
      outputs: c.outputs,
      reasons: c.reasons ?? [],
    });
  });
});

/** The fixture catalog plus user-defined routines (a new catalog object, so a fresh index). */
function withRoutines(...routines: CatalogRoutine[]): Catalog {
  return {
    ...catalog,
    version: `${catalog.version}+${routines.map((r) => `${r.schema}.${r.name}`).join(",")}`,
    routines: [...(catalog.routines ?? []), ...routines],
  };
}

describe("classify, user routines named like built-ins", () => {
  it("looks up a called function even when syntax registered the same name first", () => {
    const routines = withRoutines({
      schema: "public",
      name: "similar_to_escape",
      kinds: ["function"],
      volatility: "volatile",
    });
    for (const sql of [
      "SELECT 'a' SIMILAR TO 'b', similar_to_escape(1)",
      "SELECT similar_to_escape(1), 'a' SIMILAR TO 'b'",
    ]) {
      const result = analyzeSql(sql, routines).classification;
      expect(result.kind, sql).toBe("call");
      expect(result.reasons, sql).toEqual(["user_function:public.similar_to_escape"]);
      expect(result.functions, sql).toHaveLength(2);
      expect(result.functions, sql).toContainEqual({ name: "similar_to_escape", origin: "user" });
      expect(result.functions, sql).toContainEqual({
        name: "similar_to_escape",
        origin: "system",
        syntax: true,
        volatility: "immutable",
      });
    }
  });

  it("records both operators of BETWEEN when >= is user-defined", () => {
    const routines = withRoutines(
      { schema: "public", name: ">=", kinds: ["operator"], volatility: "immutable" },
      { schema: "public", name: "<=", kinds: ["operator"], volatility: "volatile" },
    );
    const result = analyzeSql("SELECT id FROM patients WHERE dob BETWEEN $1 AND $2", routines).classification;
    expect(result.operators).toEqual([
      { name: "<=", origin: "user" },
      { name: ">=", origin: "user" },
    ]);
    expect(result.reasons).toEqual(["user_operator:public.<=", "user_operator:public.>="]);
  });

  it("resolves a FROM function's columns in the schema the call names", () => {
    const routines = withRoutines({
      schema: "billing",
      name: "unnest",
      kinds: ["function"],
      volatility: "stable",
    });
    const own = analyzeSql("SELECT * FROM billing.unnest(ARRAY[1]) AS u", routines).classification;
    expect(own.outputsComplete).toBe(false);
    const builtin = analyzeSql("SELECT * FROM unnest(ARRAY[1]) AS u", routines).classification;
    expect(builtin.outputsComplete).not.toBe(false);
    expect(outputsOf(builtin, routines)).toEqual(["u=constant()"]);
  });
});

describe("classify, details", () => {
  it("reports operators, qualified as written, with user-defined ones marked", () => {
    const result = classification(
      "SELECT ssn || 'x' FROM patients WHERE ssn === '1' AND dob BETWEEN $1 AND $2 AND email LIKE '%a' AND 1 OPERATOR(pg_catalog.+) 1 = 2",
    );
    expect(result.operators).toEqual([
      { name: "+", schema: "pg_catalog", origin: "system" },
      { name: "<=", origin: "system" },
      { name: "=", origin: "system" },
      { name: "===", origin: "user" },
      { name: ">=", origin: "system" },
      { name: "||", origin: "system" },
      { name: "~~", origin: "system" },
    ]);
    expect(result.kind).toBe("call");
    expect(result.reasons).toEqual(["user_operator:public.==="]);
  });

  it("marks function-like syntax and keeps the schema only when the SQL wrote it", () => {
    const result = classification(
      "SELECT COALESCE(a.ssn, 'x'), pg_catalog.lower(a.ssn), CURRENT_USER FROM patients a",
    );
    expect(result.functions).toEqual([
      { name: "coalesce", origin: "system", syntax: true },
      { name: "current_user", origin: "system", syntax: true, volatility: "stable" },
      { name: "lower", schema: "pg_catalog", origin: "system", volatility: "immutable" },
    ]);
  });

  it("reports the outermost constant LIMIT and the highest parameter number", () => {
    expect(classification("SELECT id FROM patients LIMIT 25").limit).toBe(25);
    expect(classification("SELECT id FROM patients LIMIT 0").limit).toBe(0);
    expect(classification("SELECT id FROM patients LIMIT $1").limit).toBeNull();
    expect(classification("SELECT id FROM patients LIMIT ALL").limit).toBeNull();
    expect(classification("SELECT * FROM (SELECT id FROM patients LIMIT 5) s").limit).toBeNull();
    expect(classification("SELECT id FROM patients UNION SELECT id FROM encounters LIMIT 7").limit).toBe(7);
    expect(classification("SELECT $3, $1").paramCount).toBe(3);
    expect(classification("SELECT 1").paramCount).toBe(0);
  });

  it("reports relation kinds and how each is used", () => {
    expect(
      relationKindsOf(classification("SELECT last_value FROM patient_seq, events, dept_counts, pg_class")),
    ).toEqual([
      "pg_catalog.pg_class:table:read",
      "dept_counts:matview:read",
      "encounters:table:read",
      "events:partitioned:read",
      "patient_seq:sequence:read",
    ]);
    expect(relationKindsOf(classification("INSERT INTO audit_log SELECT * FROM audit_log"))).toEqual([
      "audit_log:table:read+write",
    ]);
    expect(
      relationKindsOf(classification("SELECT * FROM encounters e JOIN patients p ON true FOR UPDATE OF e")),
    ).toEqual(["encounters:table:read+lock", "patients:table:read"]);
    expect(relationKindsOf(classification("SELECT * FROM ghost"))).toEqual(["ghost:unknown:read"]);
    expect(relationKindsOf(classification("CREATE TABLE fresh (id int)"))).toEqual(["fresh:unknown:ddl"]);
  });

  it("says which relations are reached only through a view", () => {
    const result = classification("SELECT s.ssn FROM patient_summary s JOIN patients p ON p.id = s.id");
    expect(result.relations).toEqual([
      { schema: "public", table: "patient_summary", kind: "view", access: ["read"], direct: true },
      {
        schema: "public",
        table: "patients",
        kind: "table",
        access: ["read"],
        direct: true,
        via: [{ schema: "public", table: "patient_summary" }],
      },
    ]);
  });

  it("describes COPY, EXPLAIN and the statements that embed another", () => {
    expect(classification("COPY (SELECT ssn FROM patients) TO PROGRAM 'curl -d @- x'").copy).toEqual({
      direction: "to",
      target: "program",
      location: "curl -d @- x",
    });
    expect(classification("COPY patients FROM '/tmp/p.csv'").copy).toEqual({
      direction: "from",
      target: "file",
      location: "/tmp/p.csv",
    });
    expect(classification("COPY patients TO STDOUT").copy).toEqual({ direction: "to", target: "stdio" });
    const explained = classification("EXPLAIN ANALYZE INSERT INTO audit_log (id) VALUES (1)");
    expect(explained).toMatchObject({
      kind: "write",
      explainAnalyze: true,
      inner: { kind: "write", statementType: "InsertStmt" },
    });
    expect(classification("EXPLAIN SELECT 1")).toMatchObject({ kind: "explain", explainAnalyze: false });
    expect(classification("PREPARE p AS DELETE FROM audit_log").inner).toEqual({
      kind: "write",
      statementType: "DeleteStmt",
    });
    expect(classification("DECLARE c CURSOR FOR SELECT 1").inner).toEqual({
      kind: "read",
      statementType: "SelectStmt",
    });
  });

  it("lists names it could not resolve and says when outputs may be incomplete", () => {
    expect(classification("SELECT nope, p.nope2, x.y FROM patients p").unresolvedColumns).toEqual([
      "nope",
      "p.nope2",
      "x.y",
    ]);
    expect(classification("SELECT * FROM ghost").outputsComplete).toBe(false);
    expect(classification("SELECT * FROM some_function()").outputsComplete).toBe(false);
    expect(classification("SELECT * FROM generate_series(1, 2)").outputsComplete).toBe(true);
    expect(classification("SELECT * FROM patients").outputsComplete).toBe(true);
    expect(classification("EXECUTE q").outputsComplete).toBe(false);
  });

  it("attributes an unknown column to every relation in scope", () => {
    const result = classification("SELECT mystery FROM patients p JOIN billing.invoices i ON true");
    expect(columnsOf(result)).toEqual(["billing.invoices.mystery:output", "patients.mystery:output"]);
  });

  it("resolves unqualified names along the catalog's search path", async () => {
    await db.exec("SET search_path = billing, public");
    let billingFirst: Catalog;
    try {
      billingFirst = await loadCatalog(db);
    } finally {
      await db.exec("SET search_path = public");
    }
    const result = analyzeSql("SELECT p.*, e.id FROM patients p, encounters e", billingFirst).classification;
    expect(relationsOf(result)).toEqual(["billing.patients", "encounters"]);
    expect(outputsOf(result, billingFirst)).toEqual([
      "id=copy(billing.patients.id)",
      "note=copy(billing.patients.note)",
      "id=copy(encounters.id)",
    ]);
  });

  it("numbers outputs and marks opaque ones", () => {
    const result = classification("SELECT mask_ssn(ssn) AS m, ssn FROM patients");
    expect(result.outputs.map((o) => [o.position, o.name, o.opaque])).toEqual([
      [0, "m", true],
      [1, "ssn", false],
    ]);
  });

  it("returns plain data (JSON round-trips) and is pure", () => {
    const sql = "WITH s AS (SELECT * FROM patient_summary) SELECT row_to_json(s), upper(ssn) FROM s";
    const first = classification(sql);
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);
    expect(classification(sql)).toEqual(first);
    expect(classify(parseStatement(sql), catalog)).toEqual(first);
  });

  it("bounds the work nested recursive CTEs can cause", () => {
    const columns = ["id", "mrn", "ssn", "first_name", "last_name", "city", "state", "zip", "phone", "email"];
    const aliases = columns.map((_, i) => `c${i}`).join(", ");
    const rotated = columns.map((_, i) => `c${(i + 1) % columns.length}`).join(", ");
    let sql = "";
    for (let depth = 0; depth < 8; depth++) {
      const from = depth === 0 ? "patients" : `(${sql}) z`;
      const select = depth === 0 ? columns.join(", ") : columns.map((_, i) => `z.c${i}`).join(", ");
      sql = `WITH RECURSIVE r${depth}(${aliases}) AS (SELECT ${select} FROM ${from} UNION SELECT ${rotated} FROM r${depth}) SELECT * FROM r${depth}`;
    }
    let outcome: unknown;
    try {
      outcome = classification(sql).outputs[0]?.sources.length;
    } catch (error) {
      outcome = error;
    }
    if (outcome instanceof Error)
      expect((outcome as BadRequestError).details).toEqual({ reason: "too_complex" });
    else expect(outcome).toBe(10);
  });

  it("throws only BadRequestError for trees too deep to walk", () => {
    const depth = 1_500;
    const sql = `SELECT ${"(SELECT ".repeat(depth)}ssn FROM patients${")".repeat(depth)}`;
    let outcome: unknown;
    try {
      outcome = classification(sql).kind;
    } catch (error) {
      outcome = error;
    }
    if (outcome instanceof Error) {
      expect(outcome).toBeInstanceOf(BadRequestError);
      expect((outcome as BadRequestError).details).toEqual({ reason: "too_complex" });
    } else {
      expect(outcome).toBe("read");
    }
  });
});
