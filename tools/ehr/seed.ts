// Seeds the synthetic EHR into any PostgreSQL session (PGlite, node-postgres): one transaction, bound parameters.

import { ConflictError, UnavailableError } from "#shared/errors.ts";
import {
  type ColumnSpec,
  columnArrays,
  ENCOUNTER_COLUMNS,
  MEDICATION_COLUMNS,
  PATIENT_COLUMNS,
} from "./columns.ts";
import { type EhrBatch, generateEhr } from "./generate.ts";
import { type EhrOptions, type EhrSizes, resolveEhrOptions } from "./options.ts";
import { EHR_CONSTRAINTS_SQL, EHR_TABLES, EHR_TABLES_SQL } from "./schema.ts";

/**
 * The least a database session must offer: PGlite, a node-postgres `Client` or a `PoolClient` all fit.
 * It must be ONE session (not a `Pool`): seeding runs `BEGIN … COMMIT` across several calls.
 */
export interface SqlTarget {
  query(sql: string, params?: unknown[]): Promise<unknown>;
  /** Runs several statements at once (PGlite's `exec`); when absent, `query` runs the DDL. */
  exec?(sql: string): Promise<unknown>;
}

/** What `seedEhr` did. */
export interface SeedEhrResult {
  /** `seeded`: this call created and filled the tables; `already_seeded`: they were there, nothing changed. */
  readonly status: "seeded" | "already_seeded";
  /** Row counts of the tables after the call. */
  readonly counts: EhrSizes;
  /** Wall-clock time of the call, in milliseconds. */
  readonly durationMs: number;
}

/** Advisory lock keys serializing concurrent seeders of one database ("phig", "ehr"). */
const LOCK_KEYS = [0x70686967, 0x656872];

function rowsOf(result: unknown): Record<string, unknown>[] {
  const rows = (result as { rows?: unknown } | null)?.rows;
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
}

function insertSql<Row>(table: string, columns: readonly ColumnSpec<Row>[]): string {
  const names = columns.map(({ name }) => name).join(", ");
  const arrays = columns.map(({ type }, i) => `$${i + 1}::${type}[]`).join(", ");
  return `INSERT INTO ${table} (${names}) SELECT * FROM unnest(${arrays})`;
}

const INSERT_PATIENTS = insertSql("patients", PATIENT_COLUMNS);
const INSERT_ENCOUNTERS = insertSql("encounters", ENCOUNTER_COLUMNS);
const INSERT_MEDICATIONS = insertSql("medications", MEDICATION_COLUMNS);

async function existingTables(target: SqlTarget): Promise<number> {
  const checks = EHR_TABLES.map((table) => `(to_regclass('${table}') IS NOT NULL)::int`).join(" + ");
  const [row] = rowsOf(await target.query(`SELECT ${checks} AS present`));
  return Number(row?.present ?? 0);
}

async function countRows(target: SqlTarget): Promise<EhrSizes> {
  const counts = EHR_TABLES.map((table) => `(SELECT count(*) FROM ${table})::int AS ${table}`).join(", ");
  const [row] = rowsOf(await target.query(`SELECT ${counts}`));
  return {
    patients: Number(row?.patients ?? 0),
    encounters: Number(row?.encounters ?? 0),
    medications: Number(row?.medications ?? 0),
  };
}

/** Row counts of the demo tables, or undefined when any of them is missing. */
export async function ehrTableCounts(target: SqlTarget): Promise<EhrSizes | undefined> {
  if ((await existingTables(target)) < EHR_TABLES.length) return undefined;
  return countRows(target);
}

/** True when the three demo tables exist and `patients` has at least one row (a seed commits all or nothing). */
export async function isEhrSeeded(target: SqlTarget): Promise<boolean> {
  if ((await existingTables(target)) < EHR_TABLES.length) return false;
  const [row] = rowsOf(await target.query("SELECT EXISTS (SELECT 1 FROM patients) AS seeded"));
  return row?.seeded === true;
}

function insertBatch(target: SqlTarget, batch: EhrBatch): Promise<unknown> {
  switch (batch.table) {
    case "patients":
      return target.query(INSERT_PATIENTS, columnArrays(batch.rows, PATIENT_COLUMNS));
    case "encounters":
      return target.query(INSERT_ENCOUNTERS, columnArrays(batch.rows, ENCOUNTER_COLUMNS));
    case "medications":
      return target.query(INSERT_MEDICATIONS, columnArrays(batch.rows, MEDICATION_COLUMNS));
  }
}

/** Sends each batch while the next one is generated (one insert in flight), so a server works as the client does. */
async function insertAll(target: SqlTarget, options: EhrOptions): Promise<void> {
  let inFlight: Promise<unknown> = Promise.resolve();
  for (const batch of generateEhr(options)) {
    await inFlight;
    inFlight = insertBatch(target, batch);
  }
  await inFlight;
}

async function runDdl(target: SqlTarget, sql: string): Promise<unknown> {
  return target.exec ? target.exec(sql) : target.query(sql);
}

/**
 * Creates the demo schema and fills it with the generated dataset, in one transaction (all or nothing), with every
 * value a bound parameter (`INSERT … SELECT * FROM unnest($1::int4[], …)`, one statement per batch), adds the
 * foreign keys and indexes after the rows (faster than checking them row by row), commits, then runs `ANALYZE`.
 *
 * Idempotent: when the three tables already hold a seeded EHR it changes nothing and answers `already_seeded`
 * (whatever options that EHR was generated with). When only some of the tables exist, or they exist but are empty,
 * the database holds something else: it throws `ConflictError` (`ehr_conflict`) and touches nothing. Concurrent
 * seeders are serialized by a transaction-scoped advisory lock. Other failures roll back and throw
 * `UnavailableError` (`database_unavailable`) with the SQLSTATE in `details` and the driver error as `cause`.
 */
export async function seedEhr(target: SqlTarget, options: EhrOptions = {}): Promise<SeedEhrResult> {
  const started = performance.now();
  const resolved = resolveEhrOptions(options);
  let open = false;
  try {
    await target.query("BEGIN ISOLATION LEVEL READ COMMITTED");
    open = true;
    await target.query("SELECT pg_advisory_xact_lock($1, $2)", LOCK_KEYS);
    const present = await existingTables(target);
    if (present === EHR_TABLES.length && (await isEhrSeeded(target))) {
      const counts = await countRows(target);
      await target.query("ROLLBACK");
      open = false;
      return { status: "already_seeded", counts, durationMs: performance.now() - started };
    }
    if (present > 0) {
      throw new ConflictError(
        "ehr_conflict",
        "The database already has some of the demo tables (patients, encounters, medications) but no seeded EHR",
      );
    }
    await runDdl(target, EHR_TABLES_SQL);
    await insertAll(target, resolved);
    await runDdl(target, EHR_CONSTRAINTS_SQL);
    await target.query("COMMIT");
    open = false;
    await target.query(`ANALYZE ${EHR_TABLES.join(", ")}`);
  } catch (error) {
    if (open) await target.query("ROLLBACK").catch(() => undefined);
    if (error instanceof ConflictError) throw error;
    const sqlstate = (error as { code?: unknown } | null)?.code;
    throw new UnavailableError("database_unavailable", "Seeding the synthetic EHR failed", {
      cause: error,
      details: typeof sqlstate === "string" ? { sqlstate } : undefined,
    });
  }
  const { patients, encounters, medications } = resolved;
  return {
    status: "seeded",
    counts: { patients, encounters, medications },
    durationMs: performance.now() - started,
  };
}
