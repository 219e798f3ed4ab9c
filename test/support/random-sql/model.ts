// The random SQL generator's view of the demo schema: tables, typed columns, and the literal values it may use.

import { ENCOUNTER_COLUMNS, MEDICATION_COLUMNS, PATIENT_COLUMNS } from "#tools/ehr/columns.ts";

/** The SQL types expressions are generated at. */
export type SqlType = "int" | "text" | "date" | "timestamptz" | "bool" | "numeric";

/** A column visible in a scope: how to write it, its type, and (for a plain copy of a base column) which one. */
export interface ScopeColumn {
  /** `p.ssn`, `t.c1`, `g.i`. */
  readonly ref: string;
  /** The output name it has (`ssn`, `c1`). */
  readonly name: string;
  readonly type: SqlType;
  /** `patients.ssn` when the value is an unchanged copy of that base column (through aliases, CTEs, subqueries). */
  readonly base?: string;
  /** True when the value is derived from a protected column (a copy or any expression of one). */
  readonly protected: boolean;
}

/** A demo table as the generator sees it. */
export interface TableModel {
  readonly name: "patients" | "encounters" | "medications";
  /** The usual alias letter. */
  readonly alias: string;
  /** The column holding the patient id, restricted to a few patients to keep statements cheap. */
  readonly patientKey: string;
  readonly columns: readonly { readonly name: string; readonly type: SqlType }[];
}

const TYPES: Readonly<Record<string, SqlType>> = {
  int4: "int",
  text: "text",
  date: "date",
  timestamptz: "timestamptz",
};

function columnsOf(specs: readonly { name: string; type: string }[]): TableModel["columns"] {
  return specs.map(({ name, type }) => ({ name, type: TYPES[type] ?? "text" }));
}

/** The three demo tables (tools/ehr/schema.ts). */
export const TABLES: readonly TableModel[] = [
  { name: "patients", alias: "p", patientKey: "id", columns: columnsOf(PATIENT_COLUMNS) },
  { name: "encounters", alias: "e", patientKey: "patient_id", columns: columnsOf(ENCOUNTER_COLUMNS) },
  { name: "medications", alias: "m", patientKey: "patient_id", columns: columnsOf(MEDICATION_COLUMNS) },
];

/**
 * Literal values the generator may write, by `table.column`: values of world A (so lookups hit), the first ones
 * belonging to the few patients statements read. `patients` is how many patients those are.
 */
export interface LiteralPool {
  readonly values: ReadonlyMap<string, readonly string[]>;
  readonly patients: number;
}

/** Builds a pool from A's rows: every column's values for patients 1..`near`, then a few from farther away. */
export function literalPool(
  rows: Readonly<Record<TableModel["name"], readonly object[]>>,
  near = 30,
  far = 10,
): LiteralPool {
  const values = new Map<string, string[]>();
  for (const table of TABLES) {
    const source = rows[table.name] as readonly Record<string, unknown>[];
    const close = source.filter((r) => Number(r[table.patientKey]) <= near);
    const distant = source.filter((r) => Number(r[table.patientKey]) > near);
    const step = Math.max(1, Math.floor(distant.length / far));
    const picked = [...close, ...distant.filter((_, i) => i % step === 0).slice(0, far)];
    for (const { name } of table.columns) {
      const list = picked.map((r) => r[name]).filter((v): v is string => typeof v === "string");
      values.set(`${table.name}.${name}`, [...new Set(list)]);
    }
  }
  return { values, patients: near };
}
