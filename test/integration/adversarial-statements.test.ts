// The adversarial statements are valid SQL: each runs directly (read-only) on the seeded PGlite template and on a
// PostgreSQL 15 server, so a denial through the gateway is the policy's and not a syntax error.

import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  ADVERSARIAL_STATEMENTS,
  type AdversarialStatement,
  FAILING_PLAIN_STATEMENTS,
  FAILING_PROTECTED_STATEMENTS,
  ISSUE_13_CYCLE,
  ISSUE_13_UNION,
  PGLITE_ONLY_STATEMENTS,
  SERVER_SETUP_SQL,
  SERVER_STATEMENTS,
} from "#test/support/adversarial/statements.ts";
import {
  describeWithPostgres,
  type PostgresServer,
  startPostgresServer,
} from "#test/support/postgres-server.ts";
import { seedEhr } from "#tools/ehr/seed.ts";

/** Runs one statement in a read-only transaction; resolves with the SQLSTATE it failed with, or null. */
type Execute = (sql: string, params: readonly unknown[]) => Promise<string | null>;

function sqlstate(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") throw error;
  return code;
}

/** A run-time failure is a data exception or the like, never a statement PostgreSQL could not even plan. */
const UNPLANNABLE = /^(42|0A)/;

function check(execute: () => Execute) {
  return async (statement: AdversarialStatement) => {
    const failed = await execute()(statement.sql, statement.params ?? []);
    if (statement.errors === true) {
      expect(failed, "the statement was expected to fail at run time").not.toBeNull();
      expect(failed, "it failed before running").not.toMatch(UNPLANNABLE);
    } else {
      expect(failed, `SQLSTATE ${failed}`).toBeNull();
    }
  };
}

const SHARED = [...ADVERSARIAL_STATEMENTS, ...FAILING_PROTECTED_STATEMENTS, ...FAILING_PLAIN_STATEMENTS];

describe("the adversarial statements", () => {
  it("hold more than 250 statements, the two issue 13 reproducers verbatim among the denied ones", () => {
    expect(ADVERSARIAL_STATEMENTS.length).toBeGreaterThan(250);
    for (const sql of [ISSUE_13_CYCLE, ISSUE_13_UNION]) {
      expect(ADVERSARIAL_STATEMENTS.filter((s) => s.sql === sql).map((s) => s.expect)).toEqual(["denied"]);
    }
  });

  it("list each statement once, and name what a denial by the opacity rule must say", () => {
    const all = [...SHARED, ...PGLITE_ONLY_STATEMENTS, ...SERVER_STATEMENTS];
    const keys = all.map((s) => `${s.sql} ${JSON.stringify(s.params ?? [])}`);
    expect(keys.length - new Set(keys).size).toBe(0);
    for (const s of all) {
      if (s.names === undefined) continue;
      expect(s.expect, s.sql).toBe("denied");
      expect(s.names.columns.length, s.sql).toBeGreaterThan(0);
      for (const column of s.names.columns) expect(column, s.sql).toMatch(/^public\.\w+(\.\w+)?$/);
      expect(s.names.constructs.filter((c) => c.length > 0).length, s.sql).toBeGreaterThan(0);
    }
    const otherDenials = all.filter((s) => s.expect === "denied" && s.names === undefined);
    expect(new Set(otherDenials.map((s) => s.category))).toEqual(
      new Set(["catalog and server", "server extras", "shapes the analysis must not guess"]),
    );
  });

  it("cover every outcome", () => {
    const outcomes = new Set(ADVERSARIAL_STATEMENTS.map((s) => s.expect));
    expect([...outcomes].sort()).toEqual(["allowed", "approval", "denied", "masked"]);
  });
});

describe("the adversarial statements run on the seeded PGlite template", () => {
  let dir: string;
  let db: PGlite;
  const execute: Execute = async (sql, params) => {
    await db.exec("BEGIN READ ONLY");
    try {
      await db.query(sql, [...params]);
      return null;
    } catch (error) {
      return sqlstate(error);
    } finally {
      await db.exec("ROLLBACK");
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(process.env.PHIGATE_TEST_TMP ?? tmpdir(), "adversarial-pglite-"));
    await cp(inject("pgdataTemplate"), join(dir, "pgdata"), { recursive: true });
    db = await PGlite.create({ dataDir: join(dir, "pgdata") });
  });
  afterAll(async () => {
    await db?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it.each([...SHARED, ...PGLITE_ONLY_STATEMENTS])(
    "[$category] $sql",
    check(() => execute),
    120_000,
  );
});

describeWithPostgres("the adversarial statements run on a PostgreSQL server", () => {
  let server: PostgresServer;
  let client: pg.Client;
  const execute: Execute = async (sql, params) => {
    await client.query("BEGIN READ ONLY");
    try {
      await client.query(sql, [...params]);
      return null;
    } catch (error) {
      return sqlstate(error);
    } finally {
      await client.query("ROLLBACK");
    }
  };

  beforeAll(async () => {
    server = await startPostgresServer({ database: "ehr" });
    client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await seedEhr(client);
    await client.query(SERVER_SETUP_SQL);
    await client.query("SET statement_timeout = '100s'");
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
  });

  it("is PostgreSQL 15 (the oldest version the statements must parse on)", async () => {
    const { rows } = await client.query("SHOW server_version_num");
    expect(Number(rows[0].server_version_num)).toBeGreaterThanOrEqual(150000);
  });

  it.each([...SHARED, ...SERVER_STATEMENTS])(
    "[$category] $sql",
    check(() => execute),
    120_000,
  );
});
