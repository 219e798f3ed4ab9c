// Tests of the catalog query (on PGlite), its conversion to a Catalog, name resolution, and the catalog cache.
import type { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError } from "#shared/errors.ts";
import { catalogFromRows } from "#shared/sql/catalog.ts";
import { CatalogCache } from "#shared/sql/catalog-cache.ts";
import { catalogIndex } from "#shared/sql/catalog-index.ts";
import { analyzeSqlWithCache } from "#shared/sql/parse-and-classify.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog, CellValue } from "#shared/sql/types.ts";
import { createFixtureDb, loadCatalog } from "./fixture-db.ts";

let db: PGlite;
let catalog: Catalog;

beforeAll(async () => {
  await loadSqlParser();
  db = await createFixtureDb();
  catalog = await loadCatalog(db);
});

afterAll(async () => {
  await db.close();
});

function relation(schema: string, table: string) {
  return catalog.relations.find((r) => r.schema === schema && r.table === table);
}

describe("the catalog query", () => {
  it("lists tables with their columns in attribute order and format_type types", () => {
    const patients = relation("public", "patients");
    expect(patients?.kind).toBe("table");
    expect(patients?.columns.map((c) => c.name)).toEqual([
      "id",
      "mrn",
      "ssn",
      "first_name",
      "last_name",
      "dob",
      "sex",
      "address",
      "city",
      "state",
      "zip",
      "phone",
      "email",
    ]);
    expect(relation("public", "encounters")?.columns.find((c) => c.name === "admitted_at")?.type).toBe(
      "timestamp with time zone",
    );
    expect(relation("billing", "invoices")?.columns.find((c) => c.name === "amount")?.type).toBe(
      "numeric(10,2)",
    );
  });

  it("marks the columns a unique index covers alone, and no others", async () => {
    const unique = (schema: string, table: string) =>
      relation(schema, table)
        ?.columns.filter((c) => c.unique === true)
        .map((c) => c.name);
    expect(unique("public", "patients")).toEqual(["id", "mrn"]);
    expect(unique("public", "encounters")).toEqual(["id"]);
    // A composite key, a partial index, an expression index and a view make nothing unique.
    await db.exec(`CREATE TABLE ties_probe (a int, b int, c text, d int, UNIQUE (a, b));
      CREATE UNIQUE INDEX ties_probe_c ON ties_probe (c) WHERE d > 0;
      CREATE UNIQUE INDEX ties_probe_d ON ties_probe ((d + 1));
      CREATE VIEW ties_view AS SELECT id FROM patients;`);
    try {
      const fresh = await loadCatalog(db);
      const find = (table: string) => fresh.relations.find((r) => r.schema === "public" && r.table === table);
      expect(find("ties_probe")?.columns.filter((c) => c.unique === true)).toEqual([]);
      expect(find("ties_view")?.columns.filter((c) => c.unique === true)).toEqual([]);
    } finally {
      await db.exec("DROP VIEW ties_view; DROP TABLE ties_probe;");
    }
  });

  it("excludes dropped columns", () => {
    expect(relation("public", "dropped_cols")?.columns.map((c) => c.name)).toEqual(["a", "c"]);
  });

  it("reports every relation kind, and view definitions outside the system schemas", () => {
    expect(relation("public", "patient_summary")?.kind).toBe("view");
    expect(relation("public", "patient_summary")?.definition).toContain("upper(last_name)");
    expect(relation("public", "dept_counts")?.kind).toBe("matview");
    expect(relation("public", "dept_counts")?.definition).toContain("count(*)");
    expect(relation("public", "events")?.kind).toBe("partitioned");
    expect(relation("public", "events_2024")?.kind).toBe("table");
    expect(relation("public", "patient_seq")?.kind).toBe("sequence");
    expect(relation("public", "patient_seq")?.columns.map((c) => c.name)).toEqual([
      "last_value",
      "log_cnt",
      "is_called",
    ]);
    expect(relation("pg_catalog", "pg_class")?.kind).toBe("table");
    expect(relation("pg_catalog", "pg_settings")?.kind).toBe("view");
    expect(relation("pg_catalog", "pg_settings")?.definition).toBeUndefined();
    expect(catalog.relations.some((r) => r.schema === "pg_toast")).toBe(false);
  });

  it("lists user-defined routines and operators with their volatility", () => {
    const routine = (schema: string, name: string) =>
      catalog.routines?.find((r) => r.schema === schema && r.name === name);
    expect(routine("public", "mask_ssn")).toEqual({
      schema: "public",
      name: "mask_ssn",
      kinds: ["function"],
      volatility: "immutable",
    });
    expect(routine("public", "touch_audit")?.volatility).toBe("volatile");
    expect(routine("public", "add_audit")?.kinds).toEqual(["procedure"]);
    expect(routine("public", "concat_all")?.kinds).toEqual(["aggregate"]);
    expect(routine("public", "===")?.kinds).toEqual(["operator"]);
    expect(routine("billing", "total")?.volatility).toBe("stable");
    expect(catalog.routines?.some((r) => r.schema === "pg_catalog")).toBe(false);
  });

  it("marks the routines some overload of which returns a set (pg_proc.proretset), and no others", async () => {
    const builtin = (name: string) =>
      catalog.builtins?.find((r) => r.schema === "pg_catalog" && r.name === name);
    for (const name of ["generate_series", "unnest", "pg_timezone_names", "json_each", "regexp_matches"])
      expect(builtin(name)?.returnsSet, name).toBe(true);
    for (const name of ["lower", "count", "random", "row_number"])
      expect(builtin(name)?.returnsSet, name).toBeUndefined();
    const proretset = await db.query<{ n: number }>(
      `SELECT count(DISTINCT (n.nspname, p.proname))::int AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE p.proretset AND n.nspname IN ('pg_catalog', 'information_schema')`,
    );
    expect(catalog.builtins?.filter((r) => r.returnsSet === true)).toHaveLength(proretset.rows[0]?.n ?? -1);
  });

  it("reports the search path and a digest that changes with the content only", async () => {
    expect(catalog.searchPath).toEqual(["public"]);
    expect(catalog.version).toMatch(/^[0-9a-f]{64}$/);
    expect((await loadCatalog(db)).version).toBe(catalog.version);
    await db.exec("CREATE TABLE temp_probe (x integer)");
    const changed = await loadCatalog(db);
    expect(changed.version).not.toBe(catalog.version);
    await db.exec("DROP TABLE temp_probe");
    expect((await loadCatalog(db)).version).toBe(catalog.version);
  });

  it("follows the session's search path", async () => {
    await db.exec("SET search_path = billing, public");
    try {
      const billingFirst = await loadCatalog(db);
      expect(billingFirst.searchPath).toEqual(["billing", "public"]);
      expect(billingFirst.version).not.toBe(catalog.version);
      expect(catalogIndex(billingFirst).relation(undefined, "patients")?.source.schema).toBe("billing");
      expect(catalogIndex(billingFirst).relation(undefined, "encounters")?.source.schema).toBe("public");
    } finally {
      await db.exec("SET search_path = public");
    }
  });

  it("leaves temporary tables out", async () => {
    await db.exec("CREATE TEMP TABLE scratch (x integer)");
    const withTemp = await loadCatalog(db);
    expect(withTemp.relations.some((r) => r.table === "scratch")).toBe(false);
    await db.exec("DROP TABLE scratch");
  });
});

describe("catalogFromRows", () => {
  const row = (
    entry: string | null,
    schema: string | null,
    name: string | null,
    kind: string | null,
    detail: CellValue,
  ): CellValue[] => [entry, schema, name, kind, detail, null, null, '["public"]', "v1"];

  it("accepts JSON columns as text or already decoded", () => {
    const fromText = catalogFromRows([
      row("relation", "public", "t", "table", '[["a","integer"]]'),
      row("builtin", "pg_catalog", "lower", "i", '["function"]'),
    ]);
    const decoded = catalogFromRows([
      row("relation", "public", "t", "table", [["a", "integer"]]),
      row("builtin", "pg_catalog", "lower", "i", ["function"]),
    ]);
    expect(fromText).toEqual(decoded);
    expect(decoded.relations[0]?.columns).toEqual([{ name: "a", type: "integer" }]);
  });

  it("reads the search path from a database without relations", () => {
    const builtin = row("builtin", "pg_catalog", "random", "v", '["function"]');
    expect(catalogFromRows([row(null, null, null, null, null), builtin])).toEqual({
      version: "v1",
      searchPath: ["public"],
      relations: [],
      routines: [],
      builtins: [{ schema: "pg_catalog", name: "random", kinds: ["function"], volatility: "volatile" }],
    });
  });

  it("refuses a catalog that lists no built-in function (the function rule could admit nothing by it)", () => {
    expect(() => catalogFromRows([row(null, null, null, null, null)])).toThrow(/no built-in functions/);
  });

  it("refuses rows of another shape with a ConfigurationError", () => {
    expect(() => catalogFromRows([])).toThrow(ConfigurationError);
    expect(() => catalogFromRows([["relation", "public"]])).toThrow(ConfigurationError);
    expect(() => catalogFromRows([row("relation", "public", "t", "index", "[]")])).toThrow(
      ConfigurationError,
    );
    expect(() => catalogFromRows([row("relation", "public", "t", "table", "{not json")])).toThrow(
      ConfigurationError,
    );
    expect(() => catalogFromRows([row("relation", null, "t", "table", "[]")])).toThrow(ConfigurationError);
  });
});

describe("name resolution", () => {
  it("resolves unqualified names along the search path with pg_catalog first", () => {
    const shadow: Catalog = {
      version: "x",
      searchPath: ["public"],
      relations: [
        { schema: "public", table: "pg_class", kind: "table", columns: [{ name: "evil", type: "text" }] },
        {
          schema: "pg_catalog",
          table: "pg_class",
          kind: "table",
          columns: [{ name: "relname", type: "name" }],
        },
      ],
    };
    expect(catalogIndex(shadow).relation(undefined, "pg_class")?.source.schema).toBe("pg_catalog");
    expect(catalogIndex(shadow).relation("public", "pg_class")?.source.schema).toBe("public");
    const explicit: Catalog = { ...shadow, searchPath: ["public", "pg_catalog"] };
    expect(catalogIndex(explicit).relation(undefined, "pg_class")?.source.schema).toBe("public");
  });

  it("reports unknown names as undefined and places them in the first schema of the path", () => {
    const index = catalogIndex(catalog);
    expect(index.relation(undefined, "nope")).toBeUndefined();
    expect(index.relation("billing", "encounters")).toBeUndefined();
    expect(index.defaultSchema).toBe("public");
  });

  it("builds one index per catalog object", () => {
    expect(catalogIndex(catalog)).toBe(catalogIndex(catalog));
  });
});

describe("CatalogCache", () => {
  function fakeClock() {
    let now = 0;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  }

  it("loads once, shares a load in flight, and reloads after the TTL", async () => {
    const clock = fakeClock();
    let loads = 0;
    const cache = new CatalogCache({
      load: async () => ({ ...catalog, version: `v${++loads}` }),
      ttlMs: 1000,
      now: clock.now,
    });
    const [a, b] = await Promise.all([cache.get(), cache.get()]);
    expect(a).toBe(b);
    expect(loads).toBe(1);
    clock.advance(999);
    expect(await cache.get()).toBe(a);
    clock.advance(1);
    expect((await cache.get()).version).toBe("v2");
  });

  it("does not cache a failed load", async () => {
    let fail = true;
    const cache = new CatalogCache({
      load: async () => {
        if (fail) throw new Error("database down");
        return catalog;
      },
    });
    await expect(cache.get()).rejects.toThrow("database down");
    fail = false;
    expect(await cache.get()).toBe(catalog);
  });

  it("refreshes at once when a statement names a relation the cached catalog lacks, at most once per interval", async () => {
    const clock = fakeClock();
    const stale: Catalog = {
      ...catalog,
      relations: catalog.relations.filter((r) => r.table !== "audit_log"),
    };
    let loads = 0;
    const cache = new CatalogCache({
      load: async () => (++loads === 1 ? stale : catalog),
      ttlMs: 60_000,
      minRefreshIntervalMs: 1000,
      now: clock.now,
    });
    const first = await analyzeSqlWithCache("SELECT id FROM patients", cache);
    expect(first.catalog).toBe(stale);
    clock.advance(1000);
    const second = await analyzeSqlWithCache("SELECT ssn FROM audit_log", cache);
    expect(loads).toBe(2);
    expect(second.catalog).toBe(catalog);
    expect(second.classification.relations).toEqual([
      expect.objectContaining({ schema: "public", table: "audit_log", kind: "table" }),
    ]);
    await analyzeSqlWithCache("SELECT * FROM no_such_table", cache);
    expect(loads).toBe(2);
    clock.advance(1000);
    await analyzeSqlWithCache("SELECT * FROM no_such_table", cache);
    expect(loads).toBe(3);
  });

  it("refreshes when a column is unknown (a column added since the catalog was loaded)", async () => {
    const clock = fakeClock();
    const patients = catalog.relations.filter((r) => r.table === "patients");
    const stale: Catalog = {
      ...catalog,
      relations: patients.map((r) => ({ ...r, columns: r.columns.filter((c) => c.name !== "email") })),
    };
    let loads = 0;
    const cache = new CatalogCache({ load: async () => (++loads === 1 ? stale : catalog), now: clock.now });
    await cache.get();
    clock.advance(5000);
    const result = await analyzeSqlWithCache("SELECT email FROM patients", cache);
    expect(loads).toBe(2);
    expect(result.classification.unresolvedColumns).toEqual([]);
    expect(result.classification.outputs[0]?.kind).toBe("copy");
  });

  it("can be invalidated", async () => {
    let loads = 0;
    const cache = new CatalogCache({ load: async () => ({ ...catalog, version: `v${++loads}` }) });
    await cache.get();
    cache.invalidate();
    expect((await cache.get()).version).toBe("v2");
  });
});
