// Seeding into PGlite: counts, foreign keys, exact round trip, idempotence, conflicts and all-or-nothing failure.

import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError, UnavailableError } from "#shared/errors.ts";
import { ehrDatasetDigest } from "#tools/ehr/digest.ts";
import { ehrSizes } from "#tools/ehr/options.ts";
import { ehrTableCounts, isEhrSeeded, type SeedEhrResult, type SqlTarget, seedEhr } from "#tools/ehr/seed.ts";
import { databaseDigest } from "./database-digest.ts";

let db: PGlite;
let first: SeedEhrResult;

beforeAll(async () => {
  db = await PGlite.create();
});

afterAll(async () => {
  await db?.close();
});

async function inSchema<T>(schema: string, body: () => Promise<T>): Promise<T> {
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
  try {
    return await body();
  } finally {
    await db.exec("SET search_path TO public");
  }
}

describe("seedEhr into PGlite (default dataset)", () => {
  it("reports an empty database as not seeded", async () => {
    expect(await isEhrSeeded(db)).toBe(false);
    expect(await ehrTableCounts(db)).toBeUndefined();
  });

  it("seeds the default sizes", async () => {
    first = await seedEhr(db);
    console.info(`[ehr] default EHR seeded into PGlite in ${first.durationMs.toFixed(0)} ms`);
    expect(first.status).toBe("seeded");
    expect(first.counts).toEqual(ehrSizes());
    expect(await ehrTableCounts(db)).toEqual(ehrSizes());
    expect(await isEhrSeeded(db)).toBe(true);
  });

  it("stores exactly the generated rows (quotes, non-ASCII, NULLs and timestamps intact)", async () => {
    expect(await databaseDigest(db)).toBe(ehrDatasetDigest());
  });

  it("has foreign keys, and every reference resolves", async () => {
    const { rows } = await db.query<{ conname: string }>(
      "SELECT conname FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace ORDER BY 1",
    );
    expect(rows.map((row) => row.conname)).toEqual([
      "encounters_patient_id_fkey",
      "medications_patient_id_fkey",
    ]);
    const orphans = await db.query<{ n: number }>(`
      SELECT (SELECT count(*) FROM encounters e LEFT JOIN patients p ON p.id = e.patient_id WHERE p.id IS NULL)::int
           + (SELECT count(*) FROM medications m LEFT JOIN patients p ON p.id = m.patient_id WHERE p.id IS NULL)::int AS n`);
    expect(orphans.rows[0]?.n).toBe(0);
    await expect(
      db.query(
        "INSERT INTO encounters (id, patient_id, admitted_at, department, diagnosis_code) VALUES (0, 0, now(), 'x', 'x')",
      ),
    ).rejects.toThrow(/foreign key/);
  });

  it("is analyzed", async () => {
    const { rows } = await db.query<{ reltuples: number }>(
      "SELECT reltuples FROM pg_class WHERE relname = 'encounters'",
    );
    expect(rows[0]?.reltuples).toBeGreaterThan(0);
  });

  it("is a no-op the second time, whatever the options", async () => {
    const again = await seedEhr(db, { patients: 5 });
    expect(again.status).toBe("already_seeded");
    expect(again.counts).toEqual(ehrSizes());
    expect(await databaseDigest(db)).toBe(ehrDatasetDigest());
  });
});

describe("seedEhr into PGlite (edge cases, each in its own schema)", () => {
  it("honours the options and the search_path", async () => {
    const result = await inSchema("small", () => seedEhr(db, { seed: 7, patients: 40, batchSize: 9 }));
    expect(result.counts).toEqual({ patients: 40, encounters: 240, medications: 120 });
    const counts = await inSchema("small", () => ehrTableCounts(db));
    expect(counts).toEqual(result.counts);
    expect(await inSchema("small", () => databaseDigest(db))).toBe(
      ehrDatasetDigest({ seed: 7, patients: 40 }),
    );
  });

  it("refuses, touching nothing, when only some of the tables exist", async () => {
    await db.exec("CREATE SCHEMA partial; CREATE TABLE partial.patients (id int)");
    await expect(inSchema("partial", () => seedEhr(db, { patients: 10 }))).rejects.toBeInstanceOf(
      ConflictError,
    );
    const { rows } = await db.query<{ t: string | null }>(
      "SELECT to_regclass('partial.encounters')::text AS t",
    );
    expect(rows[0]?.t).toBeNull();
  });

  it("rolls everything back when an insert fails", async () => {
    const failing: SqlTarget = {
      query: (sql, params) =>
        sql.startsWith("INSERT INTO medications") ? Promise.reject(new Error("boom")) : db.query(sql, params),
      exec: (sql) => db.exec(sql),
    };
    const error = await inSchema("failing", () => seedEhr(failing, { patients: 30 })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnavailableError);
    expect(await inSchema("failing", () => isEhrSeeded(db))).toBe(false);
    const { rows } = await db.query<{ t: string | null }>(
      "SELECT to_regclass('failing.patients')::text AS t",
    );
    expect(rows[0]?.t).toBeNull();
  });
});
