// Recomputes the dataset digest from a seeded database, so a test can prove the stored rows equal the generated ones.

import { createHash } from "node:crypto";
import {
  type ColumnSpec,
  ENCOUNTER_COLUMNS,
  MEDICATION_COLUMNS,
  PATIENT_COLUMNS,
} from "#tools/ehr/columns.ts";
import type { SqlTarget } from "#tools/ehr/seed.ts";

function selectList(columns: readonly ColumnSpec<unknown>[]): string {
  return columns
    .map(({ name, type }) => {
      if (type === "date") return `to_char(${name}, 'YYYY-MM-DD') AS ${name}`;
      if (type === "timestamptz")
        return `to_char(${name} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS ${name}`;
      return name;
    })
    .join(", ");
}

/**
 * The SHA-256 `ehrDatasetDigest` would give for the rows stored in the demo tables (read back in id order,
 * dates and timestamps rendered as the generator writes them).
 */
export async function databaseDigest(target: SqlTarget, pageSize = 20_000): Promise<string> {
  const hash = createHash("sha256");
  const tables = [
    ["patients", PATIENT_COLUMNS],
    ["encounters", ENCOUNTER_COLUMNS],
    ["medications", MEDICATION_COLUMNS],
  ] as const;
  for (const [table, columns] of tables) {
    const specs = columns as readonly ColumnSpec<unknown>[];
    for (let lastId = 0; ; ) {
      const sql = `SELECT ${selectList(specs)} FROM ${table} WHERE id > $1 ORDER BY id LIMIT ${pageSize}`;
      const { rows } = (await target.query(sql, [lastId])) as { rows: Record<string, unknown>[] };
      for (const row of rows)
        hash.update(`${table}\t${JSON.stringify(specs.map(({ name }) => row[name]))}\n`);
      if (rows.length < pageSize) break;
      lastId = Number(rows[rows.length - 1]?.id);
    }
  }
  return hash.digest("hex");
}
