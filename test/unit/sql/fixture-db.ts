// Test fixture: a PGlite database with the demo schema plus objects that exercise name resolution and lineage.
import { PGlite } from "@electric-sql/pglite";
import { CATALOG_SQL, catalogFromRows } from "#shared/sql/catalog.ts";
import type { Catalog, CellValue } from "#shared/sql/types.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

/**
 * Extra objects: another schema with a table named like a public one and a column (`ssn`) shared with
 * patients, views (one over another schema), a materialized view, a partitioned table, a sequence,
 * user-defined functions (immutable, volatile writing, stable calling nextval), a procedure, an aggregate
 * and an operator.
 */
export const EXTRA_SCHEMA_SQL = `
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id integer PRIMARY KEY, patient_id integer, amount numeric(10,2), ssn text);
CREATE TABLE billing.patients (id integer, note text);
CREATE TABLE audit_log (id integer, patient_id integer, ssn text, at timestamptz DEFAULT now());
CREATE VIEW patient_summary AS SELECT id, upper(last_name) AS last_name_upper, ssn, dob FROM patients;
CREATE VIEW billing.invoice_view AS
  SELECT i.id, p.ssn, i.amount FROM billing.invoices i JOIN public.patients p ON p.id = i.patient_id;
CREATE VIEW summary_of_summary AS SELECT last_name_upper AS name FROM patient_summary;
CREATE MATERIALIZED VIEW dept_counts AS SELECT department, count(*) AS n FROM encounters GROUP BY department;
CREATE TABLE events (id integer, happened date, payload text) PARTITION BY RANGE (happened);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE SEQUENCE patient_seq;
CREATE TABLE dropped_cols (a integer, b text, c date);
ALTER TABLE dropped_cols DROP COLUMN b;
CREATE FUNCTION mask_ssn(text) RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT 'XXX-XX-' || right($1, 4) $$;
CREATE FUNCTION touch_audit() RETURNS integer VOLATILE LANGUAGE plpgsql
  AS $$ BEGIN INSERT INTO audit_log (id) VALUES (1); RETURN 1; END $$;
CREATE FUNCTION stable_next() RETURNS bigint STABLE LANGUAGE sql AS $$ SELECT nextval('patient_seq') $$;
CREATE FUNCTION billing.total(integer) RETURNS numeric STABLE LANGUAGE sql
  AS $$ SELECT sum(amount) FROM billing.invoices WHERE patient_id = $1 $$;
CREATE PROCEDURE add_audit(p integer) LANGUAGE sql AS $$ INSERT INTO audit_log (id) VALUES (p) $$;
CREATE AGGREGATE concat_all(text) (SFUNC = textcat, STYPE = text, INITCOND = '');
CREATE OPERATOR === (LEFTARG = text, RIGHTARG = text, FUNCTION = texteq);
`;

/** Starts PGlite with the demo schema and the extra objects. One per test file: each costs ~1-3 s and ~800 MB. */
export async function createFixtureDb(): Promise<PGlite> {
  const db = await PGlite.create();
  await db.exec(EHR_SCHEMA_SQL);
  await db.exec(EXTRA_SCHEMA_SQL);
  return db;
}

/** Runs the catalog query on `db` and builds the catalog. */
export async function loadCatalog(db: PGlite): Promise<Catalog> {
  const result = await db.query<CellValue[]>(CATALOG_SQL, [], { rowMode: "array" });
  return catalogFromRows(result.rows);
}
