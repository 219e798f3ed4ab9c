// The demo schema of the synthetic EHR (contract §3): patients, encounters, medications.

/** DDL creating the demo schema in the `public` schema; safe to run once on an empty database. */
export const EHR_SCHEMA_SQL = `
CREATE TABLE patients (
  id integer PRIMARY KEY,
  mrn text NOT NULL UNIQUE,
  ssn text NOT NULL,
  first_name text NOT NULL,
  last_name text NOT NULL,
  dob date NOT NULL,
  sex text NOT NULL CHECK (sex IN ('F', 'M', 'X')),
  address text NOT NULL,
  city text NOT NULL,
  state text NOT NULL,
  zip text NOT NULL,
  phone text,
  email text
);
CREATE TABLE encounters (
  id integer PRIMARY KEY,
  patient_id integer NOT NULL REFERENCES patients (id),
  admitted_at timestamptz NOT NULL,
  discharged_at timestamptz,
  department text NOT NULL,
  diagnosis_code text NOT NULL,
  notes text
);
CREATE INDEX encounters_patient_id_idx ON encounters (patient_id);
CREATE TABLE medications (
  id integer PRIMARY KEY,
  patient_id integer NOT NULL REFERENCES patients (id),
  drug text NOT NULL,
  dose text NOT NULL,
  started_at date NOT NULL
);
CREATE INDEX medications_patient_id_idx ON medications (patient_id);
`;

/** The demo tables, in dependency order. */
export const EHR_TABLES = ["patients", "encounters", "medications"] as const;
