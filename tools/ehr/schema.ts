// The demo schema of the synthetic EHR (contract §3): patients, encounters, medications.

/**
 * The demo tables with their primary keys and CHECK constraints, but without foreign keys and secondary indexes
 * (bulk loading is faster when those are added after the rows). The CHECKs state the generator's formats, so
 * PostgreSQL itself rejects a generator regression while seeding.
 */
export const EHR_TABLES_SQL = `
CREATE TABLE patients (
  id integer PRIMARY KEY,
  mrn text NOT NULL UNIQUE CHECK (mrn ~ '^MRN-[0-9]{7}$'),
  ssn text NOT NULL CHECK (ssn ~ '^[0-9]{3}-[0-9]{2}-[0-9]{4}$'),
  first_name text NOT NULL,
  last_name text NOT NULL,
  dob date NOT NULL,
  sex text NOT NULL CHECK (sex IN ('F', 'M', 'X')),
  address text NOT NULL,
  city text NOT NULL,
  state text NOT NULL CHECK (state ~ '^[A-Z]{2}$'),
  zip text NOT NULL CHECK (zip ~ '^[0-9]{5}$'),
  phone text,
  email text CHECK (email LIKE '%_@_%')
);
CREATE TABLE encounters (
  id integer PRIMARY KEY,
  patient_id integer NOT NULL,
  admitted_at timestamptz NOT NULL,
  discharged_at timestamptz CHECK (discharged_at >= admitted_at),
  department text NOT NULL,
  diagnosis_code text NOT NULL,
  notes text
);
CREATE TABLE medications (
  id integer PRIMARY KEY,
  patient_id integer NOT NULL,
  drug text NOT NULL,
  dose text NOT NULL,
  started_at date NOT NULL
);
`;

/** The foreign keys and secondary indexes of the demo tables (run after `EHR_TABLES_SQL`). */
export const EHR_CONSTRAINTS_SQL = `
ALTER TABLE encounters ADD CONSTRAINT encounters_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES patients (id);
CREATE INDEX encounters_patient_id_idx ON encounters (patient_id);
ALTER TABLE medications ADD CONSTRAINT medications_patient_id_fkey FOREIGN KEY (patient_id) REFERENCES patients (id);
CREATE INDEX medications_patient_id_idx ON medications (patient_id);
`;

/** DDL creating the whole demo schema (in the first schema of `search_path`, normally `public`), once. */
export const EHR_SCHEMA_SQL = EHR_TABLES_SQL + EHR_CONSTRAINTS_SQL;

/** The demo tables, in dependency order. */
export const EHR_TABLES = ["patients", "encounters", "medications"] as const;
