// Seeding into a real PostgreSQL server (apt's, through node-postgres): counts, round trip, idempotence, races.

import { existsSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  describeWithPostgres,
  type PostgresServer,
  startPostgresServer,
} from "#test/support/postgres-server.ts";
import { ehrDatasetDigest } from "#tools/ehr/digest.ts";
import { ehrSizes } from "#tools/ehr/options.ts";
import { ehrTableCounts, isEhrSeeded, seedEhr } from "#tools/ehr/seed.ts";
import { databaseDigest } from "./database-digest.ts";

describeWithPostgres("seedEhr into PostgreSQL", () => {
  let server: PostgresServer;
  let client: pg.Client;

  beforeAll(async () => {
    server = await startPostgresServer({ database: "ehr" });
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await server?.stop();
  });

  it("seeds the default dataset and stores exactly the generated rows", async () => {
    expect(await isEhrSeeded(client)).toBe(false);
    const result = await seedEhr(client);
    console.info(`[ehr] default EHR seeded into PostgreSQL in ${result.durationMs.toFixed(0)} ms`);
    expect(result.status).toBe("seeded");
    expect(await ehrTableCounts(client)).toEqual(ehrSizes());
    expect(await isEhrSeeded(client)).toBe(true);
    expect(await databaseDigest(client)).toBe(ehrDatasetDigest());
  });

  it("keeps its foreign keys and CHECK constraints", async () => {
    const insert =
      "INSERT INTO medications (id, patient_id, drug, dose, started_at) VALUES (0, $1, 'x', 'x', now())";
    await expect(client.query(insert, [0])).rejects.toMatchObject({ code: "23503" });
    await expect(client.query("UPDATE patients SET ssn = 'nope' WHERE id = 1")).rejects.toMatchObject({
      code: "23514",
    });
  });

  it("is a no-op when seeded again", async () => {
    const again = await seedEhr(client);
    expect(again.status).toBe("already_seeded");
    expect(again.counts).toEqual(ehrSizes());
  });

  it("lets exactly one of two concurrent seeders seed", async () => {
    await client.query("CREATE DATABASE race");
    const url = server.url.replace(/\/ehr$/, "/race");
    const clients = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const results = await Promise.all(clients.map((c) => seedEhr(c, { patients: 300 })));
      expect(results.map((r) => r.status).sort()).toEqual(["already_seeded", "seeded"]);
      expect(await ehrTableCounts(clients[0] as pg.Client)).toEqual({
        patients: 300,
        encounters: 1800,
        medications: 900,
      });
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});

describeWithPostgres("postgres-server test helper", () => {
  it("serves on 127.0.0.1 with trust auth, then stops and removes its directory", async () => {
    const server = await startPostgresServer();
    try {
      expect(server.url).toBe(`postgresql://postgres@127.0.0.1:${server.port}/postgres`);
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query(
        "SELECT current_setting('listen_addresses') AS listen, current_user AS who",
      );
      expect(rows[0]).toEqual({ listen: "127.0.0.1", who: "postgres" });
      await client.end();
    } finally {
      await server.stop();
    }
    expect(existsSync(server.dataDir)).toBe(false);
    await server.stop();
    const client = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 2_000 });
    await expect(client.connect()).rejects.toThrow();
  });
});
