// Loads a world's rows into a database (PGlite data directory or a server database), with the demo schema and statistics.

import { join } from "node:path";
import pg from "pg";
import { PgliteExecutor } from "#infra/local/adapters/pglite-executor.ts";
import { createJsonLogger } from "#shared/log.ts";
import type { SqlParam } from "#shared/ports.ts";
import {
  type ColumnSpec,
  columnArrays,
  ENCOUNTER_COLUMNS,
  MEDICATION_COLUMNS,
  PATIENT_COLUMNS,
} from "#tools/ehr/columns.ts";
import { EHR_CONSTRAINTS_SQL, EHR_TABLES, EHR_TABLES_SQL } from "#tools/ehr/schema.ts";
import type { EhrRows } from "./worlds.ts";

/** One database session: `query` runs one statement (with parameters) or, without parameters, a script. */
export interface WorldTarget {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Server settings of the worlds' databases: no parallel query and no JIT, so a statement gets the same plan every
 * time; UTC, as the gateway's sessions use.
 */
export const WORLD_DATABASE_SETTINGS = {
  max_parallel_workers_per_gather: 0,
  jit: false,
  timezone: "UTC",
} as const;

function insertSql<Row>(table: string, columns: readonly ColumnSpec<Row>[]): string {
  const names = columns.map(({ name }) => name).join(", ");
  const arrays = columns.map(({ type }, i) => `$${i + 1}::${type}[]`).join(", ");
  return `INSERT INTO ${table} (${names}) SELECT * FROM unnest(${arrays})`;
}

/**
 * Creates the demo schema (tools/ehr/schema.ts), applies `adjustments`, inserts `rows` (the tables are small:
 * one statement each, every value a bound parameter), adds the keys and indexes, then ANALYZEs. Below 30,000 rows
 * per table ANALYZE reads every row, so both worlds get exact, deterministic statistics of their own values.
 */
export async function loadWorld(
  target: WorldTarget,
  rows: EhrRows,
  adjustments: readonly string[],
): Promise<void> {
  for (const table of EHR_TABLES) {
    if (rows[table].length >= 30_000)
      throw new Error(`${table} has ${rows[table].length} rows; keep worlds under 30,000`);
  }
  await target.query(EHR_TABLES_SQL);
  for (const sql of adjustments) await target.query(sql);
  await target.query(insertSql("patients", PATIENT_COLUMNS), columnArrays(rows.patients, PATIENT_COLUMNS));
  await target.query(
    insertSql("encounters", ENCOUNTER_COLUMNS),
    columnArrays(rows.encounters, ENCOUNTER_COLUMNS),
  );
  await target.query(
    insertSql("medications", MEDICATION_COLUMNS),
    columnArrays(rows.medications, MEDICATION_COLUMNS),
  );
  await target.query(EHR_CONSTRAINTS_SQL);
  await target.query(`ANALYZE ${EHR_TABLES.join(", ")}`);
}

/**
 * Writes a PGlite data directory `<dataDir>/pgdata` holding the world, ready for a gateway started on `dataDir`
 * (it finds the EHR seeded and leaves it alone).
 */
export async function buildPgliteWorld(
  dataDir: string,
  rows: EhrRows,
  adjustments: readonly string[],
): Promise<void> {
  const logger = createJsonLogger({ service: "non-interference", level: "warn" });
  const executor = await PgliteExecutor.start({ dataDir: join(dataDir, "pgdata"), logger });
  try {
    await loadWorld(
      { query: (sql, params) => executor.admin(sql, (params ?? []) as SqlParam[]) },
      rows,
      adjustments,
    );
  } finally {
    await executor.close();
  }
}

/** Creates database `name` on a server (superuser URL), loads the world into it and answers its URL. */
export async function buildServerWorld(
  serverUrl: string,
  name: string,
  rows: EhrRows,
  adjustments: readonly string[],
): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
    for (const [setting, value] of Object.entries(WORLD_DATABASE_SETTINGS))
      await admin.query(
        `ALTER DATABASE "${name}" SET ${setting} = '${String(value === false ? "off" : value)}'`,
      );
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await loadWorld(client, rows, adjustments);
  } finally {
    await client.end();
  }
  return url.toString();
}
