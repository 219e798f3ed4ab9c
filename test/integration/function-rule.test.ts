// The function rule over both backends' pg_proc: every built-in classified, the side-effect functions denied by name, and every admitted function with simple arguments run with no transaction id, no WAL and no session state left.

import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "#shared/identity/principal.ts";
import { builtinRefusal, evaluate } from "#shared/policy/evaluate.ts";
import { type LoadedPolicy, loadPolicyFile } from "#shared/policy/load.ts";
import { WINDOW_FUNCTIONS } from "#shared/policy/risk.ts";
import { CATALOG_SQL, catalogFromRows } from "#shared/sql/catalog.ts";
import {
  AGGREGATE_FUNCTIONS,
  SAFE_VOLATILE_FUNCTIONS,
  STATISTICS_PREFIXES,
  stableRefusal,
} from "#shared/sql/known-functions.ts";
import { analyzeSql } from "#shared/sql/parse-and-classify.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog, CellValue } from "#shared/sql/types.ts";
import {
  describeWithPostgres,
  type PostgresServer,
  startPostgresServer,
} from "#test/support/postgres-server.ts";

/** The calls issue 14 found running inside the read-only transaction (those a backend has). */
const FOUND = [
  "SELECT txid_current()",
  "SELECT pg_current_xact_id()",
  "SELECT pg_log_standby_snapshot()",
  "SELECT pg_export_snapshot()",
  "SELECT pg_stat_force_next_flush()",
  "SELECT pg_clear_relation_stats('public', 'patients')",
  "SELECT pg_restore_relation_stats('schemaname', 'public', 'relname', 'patients')",
  "SELECT pg_clear_attribute_stats('public', 'patients', 'ssn', false)",
  "SELECT setseed(0.5)",
  "SELECT set_config('search_path', 'x', false)",
  "SELECT pg_sleep(1)",
  "SELECT pg_stat_get_activity(NULL)",
  "SELECT table_to_xml('patients', true, false, '')",
];

/** Stable calls that read other sessions' statistics or the server's internals (issue 14, second round). */
const INTROSPECTION: readonly (readonly [string, RegExp])[] = [
  ["SELECT pg_stat_get_tuples_fetched('patients'::regclass)", /cumulative statistics/],
  ["SELECT pg_stat_get_tuples_returned('patients'::regclass)", /cumulative statistics/],
  ["SELECT pg_stat_get_numscans('patients'::regclass)", /cumulative statistics/],
  ["SELECT pg_stat_get_db_xact_commit(1)", /cumulative statistics/],
  ["SELECT pg_relation_filepath('patients')", /server's files/],
  ["SELECT pg_get_functiondef('lower(text)'::regprocedure)", /function sources/],
  ["SELECT current_setting('data_directory')", /settings/],
  ["SELECT pg_backend_pid()", /processes/],
  // Found by the second outside attack: other sessions' writes, the server build, any view's source.
  ["SELECT pg_current_snapshot()", /processes|settings|server/],
  ["SELECT txid_current_snapshot()", /processes|settings|server/],
  ["SELECT version()", /server/],
  ["SELECT pg_get_viewdef('pg_settings'::regclass)", /definitions of catalog objects/],
  ["SELECT pg_get_indexdef(1)", /definitions of catalog objects/],
];

function checkIntrospection(label: string, catalog: Catalog): void {
  for (const [sql, reason] of INTROSPECTION) {
    const name = /SELECT (\w+)\(/.exec(sql)?.[1] ?? "";
    const { classification } = analyzeSql(sql, catalog);
    const decision = evaluate(policy, NIGHTLY, classification, { devIssuer: undefined });
    expect(decision.outcome, `${label}: ${sql}`).toBe("deny");
    expect(decision.reasons.join(" "), `${label}: ${sql}`).toContain(`denied functions: ${name} (`);
    expect(decision.reasons.join(" "), `${label}: ${sql}`).toMatch(reason);
  }
  // The family is a prefix over pg_proc: every stable pg_stat_ name of this backend is denied.
  const family = (catalog.builtins ?? []).filter((b) =>
    STATISTICS_PREFIXES.some((p) => b.name.startsWith(p)),
  );
  expect(family.length, label).toBeGreaterThan(50);
  for (const b of family)
    expect(builtinRefusal({ name: b.name, volatility: b.volatility }), b.name).toBeDefined();
}

const NIGHTLY: Principal = {
  issuer: "https://token.actions.githubusercontent.com",
  subject: "repo:acme/ehr-reports:ref:refs/heads/main",
  key: "nightly",
  audience: ["phigate"],
  groups: [],
  claims: {},
  expiresAt: 4_102_444_800,
};

let policy: LoadedPolicy;

beforeAll(async () => {
  await loadSqlParser();
  policy = await loadPolicyFile("policy/demo.yaml");
});

/** Every built-in of `catalog`, with the rule's verdict. */
function verdicts(catalog: Catalog): { name: string; volatility: string; refusal: string | undefined }[] {
  return (catalog.builtins ?? []).map((b) => ({
    name: `${b.schema}.${b.name}`,
    volatility: b.volatility,
    refusal: builtinRefusal({ name: b.name, volatility: b.volatility }),
  }));
}

function checkClassification(label: string, catalog: Catalog): void {
  const all = verdicts(catalog);
  expect(all.length, label).toBeGreaterThan(1000);
  for (const v of all) {
    const allowed = v.refusal === undefined;
    const short = v.name.slice(v.name.indexOf(".") + 1);
    const expected =
      v.volatility === "volatile" ? SAFE_VOLATILE_FUNCTIONS.has(short) : stableRefusal(short) === undefined;
    expect(allowed, `${label}: ${v.name} (${v.volatility})`).toBe(expected);
  }
  const allowed = all.filter((v) => v.refusal === undefined);
  const volatileAllowed = allowed.filter((v) => v.volatility === "volatile").map((v) => v.name);
  console.info(
    `[function rule] ${label}: ${allowed.length} of ${all.length} built-in names allowed; volatile ones allowed: ${volatileAllowed.sort().join(", ")}`,
  );
  for (const name of volatileAllowed) expect(SAFE_VOLATILE_FUNCTIONS.has(name.slice(11)), name).toBe(true);
}

/**
 * Every aggregate and window function of the backend is one the admission rules know by name: the rules allow a
 * few aggregates and refuse the rest by these lists, so one missing would be counted as a plain function.
 */
function checkAggregatesKnown(label: string, catalog: Catalog): void {
  const unknown = (catalog.builtins ?? [])
    .filter((b) => b.kinds.includes("aggregate") || b.kinds.includes("window"))
    .map((b) => b.name)
    .filter((name) => !AGGREGATE_FUNCTIONS.has(name) && !WINDOW_FUNCTIONS.has(name));
  expect(unknown, `${label}: aggregates or window functions the admission rules do not know`).toEqual([]);
  expect((catalog.builtins ?? []).filter((b) => b.kinds.includes("aggregate")).length, label).toBeGreaterThan(
    40,
  );
}

function checkFound(label: string, catalog: Catalog): void {
  for (const sql of FOUND) {
    const name = /SELECT (\w+)\(/.exec(sql)?.[1] ?? "";
    if (!(catalog.builtins ?? []).some((b) => b.name === name)) continue;
    const { classification } = analyzeSql(sql, catalog);
    const decision = evaluate(policy, NIGHTLY, classification, { devIssuer: undefined });
    expect(decision.outcome, `${label}: ${sql}`).toBe("deny");
    expect(decision.reasons.join(" "), `${label}: ${sql}`).toContain(`denied functions: ${name} (`);
  }
  for (const sql of ["SELECT random()", "SELECT lower('A'), now(), clock_timestamp()"]) {
    const { classification } = analyzeSql(sql, catalog);
    const decision = evaluate(policy, NIGHTLY, classification, { devIssuer: undefined });
    expect(decision.outcome, `${label}: ${sql}`).toBe("allow");
  }
}

describe("the function rule on PGlite's pg_proc", () => {
  let db: PGlite;
  let catalog: Catalog;

  beforeAll(async () => {
    db = await PGlite.create();
    await db.exec("CREATE TABLE patients (id integer, ssn text)");
    const result = await db.query<CellValue[]>(CATALOG_SQL, [], { rowMode: "array" });
    catalog = catalogFromRows(result.rows);
  });
  afterAll(async () => {
    await db.close();
  });

  it("classifies every built-in: immutable/stable unless listed, volatile only when listed", () => {
    checkClassification("PGlite", catalog);
  });

  it("knows every aggregate and window function by name (the admission rules' lists)", () => {
    checkAggregatesKnown("PGlite", catalog);
  });

  it("denies the side-effect functions the issue found, naming each", () => {
    checkFound("PGlite", catalog);
  });

  it("denies the statistics and server-introspection functions, with their reason", () => {
    checkIntrospection("PGlite", catalog);
  });
});

/** Arguments for the simple parameter types; a function taking any other type is not called. */
const SAMPLE: Readonly<Record<string, string>> = {
  int2: "1::int2",
  int4: "1",
  int8: "1::int8",
  float4: "1::float4",
  float8: "1::float8",
  numeric: "1::numeric",
  bool: "true",
  text: "'a'::text",
  name: "'a'::name",
  oid: "1259::oid",
  regclass: "'pg_class'::regclass",
  date: "'2020-01-01'::date",
  timestamptz: "'2020-01-01'::timestamptz",
  interval: "'1 day'::interval",
};

/**
 * What one statement could leave on its connection for the next (the Data API pools connections the gateway cannot
 * reset): settings, prepared statements, cursors, advisory locks, temporary relations, LISTEN channels.
 */
async function sessionState(client: pg.Client): Promise<unknown> {
  const result = await client.query(
    `SELECT
       (SELECT json_agg(name || '=' || setting ORDER BY name) FROM pg_settings WHERE source = 'session') AS settings,
       (SELECT count(*) FROM pg_prepared_statements) AS prepared,
       (SELECT count(*) FROM pg_cursors) AS cursors,
       (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory') AS advisory,
       (SELECT count(*) FROM pg_class WHERE relpersistence = 't') AS temporary,
       (SELECT count(*) FROM pg_listening_channels()) AS listening`,
  );
  return result.rows[0];
}

describeWithPostgres("the function rule on PostgreSQL's pg_proc", () => {
  let server: PostgresServer;
  let client: pg.Client;
  let catalog: Catalog;

  beforeAll(async () => {
    server = await startPostgresServer({
      settings: { autovacuum: false, checkpoint_timeout: "1h", track_functions: "all" },
    });
    client = new pg.Client(server.url);
    await client.connect();
    await client.query("CREATE TABLE patients (id integer, ssn text)");
    const result = await client.query<CellValue[]>({ text: CATALOG_SQL, rowMode: "array" });
    catalog = catalogFromRows(result.rows);
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
  });

  it("classifies every built-in: immutable/stable unless listed, volatile only when listed", () => {
    checkClassification("PostgreSQL", catalog);
  });

  it("knows every aggregate and window function by name (the admission rules' lists)", () => {
    checkAggregatesKnown("PostgreSQL", catalog);
  });

  it("denies the side-effect functions the issue found, naming each", () => {
    checkFound("PostgreSQL", catalog);
  });

  it("denies the statistics and server-introspection functions, with their reason", () => {
    checkIntrospection("PostgreSQL", catalog);
  });

  it("runs every admitted function with simple arguments with no transaction id, no WAL and no session state left", async () => {
    const admitted = new Set(
      verdicts(catalog)
        .filter((v) => v.refusal === undefined)
        .map((v) => v.name),
    );
    const overloads = await client.query<{ name: string; args: string[]; retset: boolean }>(
      `SELECT n.nspname || '.' || p.proname AS name, p.proretset AS retset,
         ARRAY(SELECT t.typname::text FROM unnest(p.proargtypes) a JOIN pg_type t ON t.oid = a) AS args
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname IN ('pg_catalog', 'information_schema') AND p.prokind = 'f'
         AND p.prorettype <> 'pg_catalog.internal'::regtype AND p.prorettype <> 'pg_catalog.trigger'::regtype
         AND p.prorettype <> 'pg_catalog.event_trigger'::regtype AND p.provariadic = 0`,
    );
    const calls: string[] = [];
    for (const o of overloads.rows) {
      if (!admitted.has(o.name) || !o.args.every((t) => SAMPLE[t] !== undefined)) continue;
      const call = `${o.name}(${o.args.map((t) => SAMPLE[t]).join(", ")})`;
      calls.push(o.retset ? `SELECT count(*) FROM (SELECT * FROM ${call} LIMIT 10) s` : `SELECT ${call}`);
    }
    expect(calls.length).toBeGreaterThan(500);
    const lsn = async (): Promise<string> =>
      (await client.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn")).rows[0]?.lsn ??
      "";
    const before = await lsn();
    const stateBefore = await sessionState(client);
    const assigned: string[] = [];
    let failed = 0;
    for (const sql of calls) {
      await client.query("BEGIN READ ONLY");
      await client.query("SET LOCAL statement_timeout = 2000");
      await client.query("SAVEPOINT probe");
      try {
        await client.query(sql);
      } catch {
        failed++;
        await client.query("ROLLBACK TO SAVEPOINT probe");
      }
      const xid = await client.query<{ xid: string | null }>(
        "SELECT txid_current_if_assigned()::text AS xid",
      );
      if (xid.rows[0]?.xid !== null) assigned.push(sql);
      await client.query("ROLLBACK");
    }
    const after = await lsn();
    // What the Data API could carry to the next statement on a pooled connection it never resets.
    expect(await sessionState(client)).toEqual(stateBefore);
    console.info(
      `[function rule] PostgreSQL: ${calls.length} admitted overloads called (${failed} raised an error); WAL ${before} → ${after}`,
    );
    expect(assigned).toEqual([]);
    expect(after).toBe(before);
    // The probe can fail: a denied function run the same way assigns an id and moves the WAL.
    await client.query("BEGIN");
    await client.query("SELECT txid_current()");
    const control = await client.query<{ xid: string | null }>(
      "SELECT txid_current_if_assigned()::text AS xid",
    );
    await client.query("COMMIT");
    expect(control.rows[0]?.xid).not.toBeNull();
    expect(await lsn()).not.toBe(before);
    // ... and a denied one leaves state behind a rolled-back read-only transaction.
    await client.query("BEGIN READ ONLY");
    await client.query("SELECT pg_advisory_lock(1)");
    await client.query("ROLLBACK");
    expect(await sessionState(client)).not.toEqual(stateBefore);
    await client.query("SELECT pg_advisory_unlock_all()");
  });
});
