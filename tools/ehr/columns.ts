// Column order and PostgreSQL types of the demo tables, shared by seeding and the dataset digest.

import type { EncounterRow } from "./encounters.ts";
import type { MedicationRow } from "./medications.ts";
import type { PatientRow } from "./patients.ts";

/** A column of a demo table: its name (a key of the row type) and the PostgreSQL type its values are sent as. */
export interface ColumnSpec<Row> {
  readonly name: keyof Row & string;
  readonly type: "int4" | "text" | "date" | "timestamptz";
}

/** The columns of `patients`, in table order. */
export const PATIENT_COLUMNS: readonly ColumnSpec<PatientRow>[] = [
  { name: "id", type: "int4" },
  { name: "mrn", type: "text" },
  { name: "ssn", type: "text" },
  { name: "first_name", type: "text" },
  { name: "last_name", type: "text" },
  { name: "dob", type: "date" },
  { name: "sex", type: "text" },
  { name: "address", type: "text" },
  { name: "city", type: "text" },
  { name: "state", type: "text" },
  { name: "zip", type: "text" },
  { name: "phone", type: "text" },
  { name: "email", type: "text" },
];

/** The columns of `encounters`, in table order. */
export const ENCOUNTER_COLUMNS: readonly ColumnSpec<EncounterRow>[] = [
  { name: "id", type: "int4" },
  { name: "patient_id", type: "int4" },
  { name: "admitted_at", type: "timestamptz" },
  { name: "discharged_at", type: "timestamptz" },
  { name: "department", type: "text" },
  { name: "diagnosis_code", type: "text" },
  { name: "notes", type: "text" },
];

/** The columns of `medications`, in table order. */
export const MEDICATION_COLUMNS: readonly ColumnSpec<MedicationRow>[] = [
  { name: "id", type: "int4" },
  { name: "patient_id", type: "int4" },
  { name: "drug", type: "text" },
  { name: "dose", type: "text" },
  { name: "started_at", type: "date" },
];

/** The values of `rows` column by column (one array per column, in `columns` order). */
export function columnArrays<Row>(rows: readonly Row[], columns: readonly ColumnSpec<Row>[]): unknown[][] {
  return columns.map(({ name }) => rows.map((row) => row[name]));
}
