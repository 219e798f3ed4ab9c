// A SHA-256 fingerprint of a generated dataset, computed while streaming it, so "same options, same data" is testable.

import { createHash } from "node:crypto";
import { type ColumnSpec, ENCOUNTER_COLUMNS, MEDICATION_COLUMNS, PATIENT_COLUMNS } from "./columns.ts";
import { generateEhr } from "./generate.ts";
import type { EhrOptions } from "./options.ts";

function rowLine<Row>(table: string, row: Row, columns: readonly ColumnSpec<Row>[]): string {
  return `${table}\t${JSON.stringify(columns.map(({ name }) => row[name]))}\n`;
}

/**
 * The lowercase hex SHA-256 of every generated row: for each table in order and each row in id order, the line
 * `<table>\t<JSON array of the values in column order>\n`. Independent of `batchSize`.
 */
export function ehrDatasetDigest(options: EhrOptions = {}): string {
  const hash = createHash("sha256");
  for (const batch of generateEhr(options)) {
    switch (batch.table) {
      case "patients":
        for (const row of batch.rows) hash.update(rowLine(batch.table, row, PATIENT_COLUMNS));
        break;
      case "encounters":
        for (const row of batch.rows) hash.update(rowLine(batch.table, row, ENCOUNTER_COLUMNS));
        break;
      case "medications":
        for (const row of batch.rows) hash.update(rowLine(batch.table, row, MEDICATION_COLUMNS));
        break;
    }
  }
  return hash.digest("hex");
}
