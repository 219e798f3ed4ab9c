// Leaks the masking leak suite found, pinned at the decision level (parse, classify, decide with the demo policy),
// and masking through a view, which the demo schema does not have.

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { BadRequestError, InternalError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { evaluate } from "#shared/policy/evaluate.ts";
import { type LoadedPolicy, loadPolicyFile, parsePolicy } from "#shared/policy/load.ts";
import { decideStatement, type FullDecision } from "#shared/sessions/decide.ts";
import { analyzeSql } from "#shared/sql/analyze.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog, Classification } from "#shared/sql/types.ts";

const text = (...names: string[]) => names.map((name) => ({ name, type: "text" }));

/** The demo schema, as the catalog reader would describe it. */
const CATALOG: Catalog = {
  version: "leak-regressions",
  searchPath: ["public"],
  relations: [
    {
      schema: "public",
      table: "patients",
      kind: "table",
      columns: [
        { name: "id", type: "integer" },
        ...text("mrn", "ssn", "first_name", "last_name"),
        { name: "dob", type: "date" },
        ...text("sex", "address", "city", "state", "zip", "phone", "email"),
      ],
    },
    {
      schema: "public",
      table: "encounters",
      kind: "table",
      columns: [
        { name: "id", type: "integer" },
        { name: "patient_id", type: "integer" },
        { name: "admitted_at", type: "timestamp with time zone" },
        { name: "discharged_at", type: "timestamp with time zone" },
        ...text("department", "diagnosis_code", "notes"),
      ],
    },
  ],
};

const NIGHTLY: Principal = {
  issuer: "https://token.actions.githubusercontent.com",
  subject: "repo:acme/ehr-reports:ref:refs/heads/main",
  key: "https://token.actions.githubusercontent.com|repo:acme/ehr-reports:ref:refs/heads/main",
  audience: ["phigate"],
  groups: [],
  claims: {},
  expiresAt: 4_102_444_800,
};

let policy: LoadedPolicy;

beforeAll(async () => {
  await loadSqlParser();
  policy = await loadPolicyFile(resolve("policy/demo.yaml"));
});

async function decide(sql: string, catalog = CATALOG, using = policy): Promise<FullDecision> {
  const { classification } = analyzeSql(sql, catalog);
  return decideStatement({
    policy: using,
    context: { devIssuer: undefined },
    principal: NIGHTLY,
    classification,
    purpose: null,
    estimateRows: async () => 10,
  });
}

/** The strategy each output column gets (null: returned as is), or the outcome when the statement does not run. */
async function masking(sql: string): Promise<(string | null)[] | string> {
  const { decision, plan } = await decide(sql);
  if (decision.outcome !== "allow" || plan === undefined) return decision.outcome;
  return plan.columns.map((c) => c.strategy);
}

/** The strategy each output column gets when the statement runs, now or once approved (else the outcome). */
async function plannedMasking(sql: string): Promise<(string | null)[] | string> {
  const { decision, plan } = await decide(sql);
  if (plan === undefined) return decision.outcome;
  return plan.columns.map((c) => c.strategy);
}

describe("values nested directly in a list (ARRAY[...], ROW(...), unnest(ARRAY[...]))", () => {
  it.each([
    ["SELECT ARRAY[ssn] FROM patients WHERE id <= 10", ["nullify"]],
    ["SELECT ARRAY[email, phone] FROM patients WHERE id <= 10", ["nullify"]],
    ["SELECT ROW(ssn), (ssn, mrn) FROM patients WHERE id <= 10", ["nullify", "nullify"]],
    ["SELECT array_to_string(ARRAY[upper(ssn)], ',') FROM patients WHERE id <= 10", ["nullify"]],
    [
      "SELECT u FROM patients p, LATERAL (SELECT (ARRAY[p.ssn, p.mrn])[2]) l(u) WHERE p.id <= 10",
      ["nullify"],
    ],
  ])("masks %s", async (sql, strategies) => {
    expect(await masking(sql)).toEqual(strategies);
  });

  it.each([
    "SELECT ROW(p.*) FROM patients p WHERE p.id <= 10",
    "SELECT s FROM patients p, LATERAL jsonb_array_elements_text(to_jsonb(ARRAY[p.ssn])) s WHERE p.id <= 10",
  ])("denies %s (a whole row or JSON built from protected columns)", async (sql) => {
    expect(await masking(sql)).toBe("deny");
  });
});

describe("functions that run SQL given as text or return other sessions' statements", () => {
  it.each([
    "SELECT x FROM ts_stat('SELECT to_tsvector(''simple'', replace(ssn, ''-'', '''')) FROM patients') x",
    "SELECT * FROM ts_stat('SELECT to_tsvector(''simple'', email) FROM patients') AS t",
    "SELECT ts_rewrite('a'::tsquery, 'SELECT to_tsquery(''simple'', mrn), ''a''::tsquery FROM patients')",
    "SELECT x FROM pg_stat_get_activity(NULL) x",
    "SELECT pg_stat_get_backend_activity(1)",
    "SELECT data FROM pg_logical_slot_peek_changes('s', NULL, NULL)",
  ])("denies %s", async (sql) => {
    const { decision } = await decide(sql);
    expect(decision.outcome).toBe("deny");
  });
});

describe("free text rewritten before the content detectors see it", () => {
  it.each([
    "SELECT reverse(notes) FROM encounters WHERE patient_id <= 10",
    "SELECT notes::bytea FROM encounters WHERE patient_id <= 10",
    "SELECT encode(convert_to(notes, 'UTF8'), 'hex') FROM encounters WHERE patient_id <= 10",
    "SELECT replace(notes, '-', '') FROM encounters WHERE patient_id <= 10",
    "SELECT substr(notes, 61, 60) FROM encounters WHERE patient_id <= 10",
    "SELECT CASE WHEN notes LIKE '%SSN%' THEN 'has one' END FROM encounters WHERE patient_id <= 10",
  ])("nulls %s", async (sql) => {
    expect(await masking(sql)).toEqual(["nullify"]);
  });

  // The demo policy protects the encounter dates (Safe Harbor), so a whole encounter row is a whole row of a table
  // with protected columns: denied. Where free text is a table's only PHI, the whole row goes through the detectors.
  let detectorOnly: LoadedPolicy;
  beforeAll(async () => {
    const demo = parse(await readFile(resolve("policy/demo.yaml"), "utf8")) as {
      masking: { rules: Record<string, unknown> };
    };
    const rules = demo.masking.rules;
    const dates = ["public.encounters.admitted_at", "public.encounters.discharged_at"];
    expect(Object.keys(rules).filter((c) => c.startsWith("public.encounters."))).toEqual(dates);
    for (const column of dates) delete rules[column];
    detectorOnly = parsePolicy(stringify(demo), "demo, encounters' free text as their only PHI");
  });

  it.each([
    ["SELECT e::text FROM encounters e WHERE e.patient_id <= 10", ["nullify"]],
    ["SELECT to_jsonb(e) FROM encounters e WHERE e.patient_id <= 10", ["detect"]],
  ])(
    "masks the whole row in %s as %s where the free text is the table's only PHI",
    async (sql, strategies) => {
      expect(await masking(sql)).toBe("deny");
      const { decision, plan } = await decide(sql, CATALOG, detectorOnly);
      expect(decision.outcome).toBe("allow");
      expect(plan?.columns.map((c) => c.strategy)).toEqual(strategies);
    },
  );

  it.each([
    `SELECT xpath('translate(/x/text(),"0123456789","ABCDEFGHIJ")', xmlelement(name x, e.notes)) FROM encounters e WHERE e.patient_id <= 10`,
    `SELECT pg_catalog.xpath('substring(/x/text(), 1, 40)', xmlelement(name x, notes)) FROM encounters WHERE patient_id <= 10`,
    `SELECT xpath_exists('/x[contains(text(), "SSN 6")]', xmlelement(name x, notes)) FROM encounters WHERE patient_id <= 10`,
    `SELECT x.c FROM encounters e, XMLTABLE('/x' PASSING xmlelement(name x, e.notes) COLUMNS c text PATH 'substring(., 1, 40)') x WHERE e.patient_id <= 10`,
    `SELECT x.c FROM encounters e, XMLTABLE('/x' PASSING xmlelement(name x, e.notes) COLUMNS c text PATH 'translate(., "0123456789", "ABCDEFGHIJ")') x WHERE e.patient_id <= 10`,
    `SELECT jsonb_path_query(to_jsonb(notes), '$.datetime()') FROM encounters WHERE patient_id <= 10`,
    `SELECT jsonb_path_query_first(to_jsonb(notes), '$.string()') FROM encounters WHERE patient_id <= 10`,
    `SELECT jsonb_extract_path_text(jsonb_build_object('n', notes), 'n') FROM encounters WHERE patient_id <= 10`,
    `SELECT JSON_VALUE(to_jsonb(notes), '$.string()') FROM encounters WHERE patient_id <= 10`,
    `SELECT j.c FROM encounters e, JSON_TABLE(jsonb_build_object('n', e.notes), '$' COLUMNS (c text PATH '$.n.string()')) j WHERE e.patient_id <= 10`,
    `SELECT j.c FROM encounters e, JSON_TABLE(jsonb_build_array(e.notes), '$[*].datetime()' COLUMNS (c text PATH '$')) j WHERE e.patient_id <= 10`,
  ])("nulls %s (a path expression the query chose can rewrite the text)", async (sql) => {
    expect(await plannedMasking(sql)).toEqual(["nullify"]);
  });

  it.each([
    "SELECT notes FROM encounters WHERE patient_id <= 10",
    "SELECT string_agg(notes, ' ') FROM encounters WHERE patient_id <= 10",
    "SELECT json_agg(notes) FROM encounters WHERE patient_id <= 10",
    "SELECT coalesce(notes, '') FROM encounters WHERE patient_id <= 10",
    "SELECT xmlelement(name x, notes) FROM encounters WHERE patient_id <= 10",
  ])("still scans %s, which carries the text as it was", async (sql) => {
    expect(await masking(sql)).toEqual(["detect"]);
  });

  it.each([
    "SELECT x.n FROM encounters e, XMLTABLE('/x' PASSING xmlelement(name x, xmlelement(name n, e.notes)) COLUMNS n text) x WHERE e.patient_id <= 10",
    "SELECT j.n FROM encounters e, JSON_TABLE(jsonb_build_object('n', e.notes), '$' COLUMNS (n text)) j WHERE e.patient_id <= 10",
  ])("still scans %s once approved (a column without a PATH takes the element as it was)", async (sql) => {
    expect(await plannedMasking(sql)).toEqual(["detect"]);
  });
});

describe("row counts decided by a protected value", () => {
  it.each([
    "SELECT generate_series(1, substr(ssn, 1, 3)::int) FROM patients WHERE id <= 10",
    "SELECT p.id FROM patients p, LATERAL generate_series(1, substr(p.ssn, 5, 2)::int) g WHERE p.id <= 10",
    "SELECT unnest(string_to_array(first_name, 'a')) FROM patients WHERE id <= 10",
    "SELECT p.id FROM patients p, regexp_split_to_table(p.email, '') c WHERE p.id <= 10",
    "SELECT id FROM patients WHERE id <= 10 LIMIT (SELECT substr(ssn, 1, 1)::int FROM patients WHERE id = 1)",
    "SELECT id FROM patients WHERE id <= 10 OFFSET (SELECT length(last_name) FROM patients WHERE id = 1)",
    "SELECT id FROM patients TABLESAMPLE BERNOULLI (50) REPEATABLE ((SELECT substr(ssn, 1, 3)::int FROM patients WHERE id = 1)) WHERE id <= 10",
    "SELECT p.id FROM patients p, XMLTABLE('/a/b' PASSING xmlparse(document '<a><b>' || replace(p.ssn, '-', '</b><b>') || '</b></a>') COLUMNS x text PATH '.') x WHERE p.id <= 10",
    "SELECT u FROM patients p, LATERAL unnest(ARRAY[p.ssn, p.mrn]) u WHERE p.id <= 10",
  ])("sends %s to approval", async (sql) => {
    const { decision } = await decide(sql);
    expect(decision.outcome).toBe("require_approval");
    expect(decision.rules).toContain("protected-column-use");
  });

  it("keeps constant row counts and LIMITs allowed", async () => {
    expect(await masking("SELECT id, generate_series(1, 3) FROM patients WHERE id <= 10 LIMIT 5")).toEqual([
      null,
      null,
    ]);
    expect(await masking("SELECT id, department FROM encounters LIMIT 5")).toEqual([null, null]);
  });
});

describe("rows chosen by comparing protected values (DISTINCT and set operations)", () => {
  it.each([
    "SELECT ssn FROM patients WHERE id <= 10 INTERSECT SELECT '389-52-0495'",
    "SELECT ssn FROM patients WHERE id <= 10 EXCEPT SELECT '389-52-0495'",
    "SELECT mrn FROM patients WHERE id = 1 UNION SELECT 'MRN-2054149'",
    "SELECT ssn FROM patients WHERE id <= 10 INTERSECT ALL SELECT ssn FROM patients WHERE id > 10",
    "SELECT DISTINCT zip FROM patients WHERE id IN (1, 2)",
    "SELECT count(*) FROM (SELECT DISTINCT upper(last_name) FROM patients WHERE id <= 10) d",
  ])("sends %s to approval", async (sql) => {
    const { decision } = await decide(sql);
    expect(decision.outcome).toBe("require_approval");
    expect(decision.reasons.join(" ")).toMatch(/\(grouping\)/);
  });

  it("still masks UNION ALL, which compares nothing", async () => {
    expect(await masking("SELECT ssn FROM patients WHERE id <= 10 UNION ALL SELECT '389-52-0495'")).toEqual([
      "partial",
    ]);
    expect(await masking("SELECT DISTINCT department FROM encounters WHERE patient_id <= 10")).toEqual([
      null,
    ]);
  });
});

describe("free-text columns used where their content leaks by inference", () => {
  it.each([
    "SELECT count(*) FROM encounters WHERE patient_id = 9 AND notes LIKE '%602-10-3%'",
    "SELECT id FROM encounters WHERE patient_id <= 10 ORDER BY notes",
    "SELECT count(*) FILTER (WHERE notes ~ 'SSN [0-9]') FROM encounters WHERE patient_id <= 10",
    "SELECT e.id FROM encounters e JOIN patients p ON e.notes LIKE '%' || p.mrn || '%' WHERE p.id <= 10",
  ])("sends %s to approval", async (sql) => {
    const { decision } = await decide(sql);
    expect(decision.outcome).toBe("require_approval");
    expect(decision.reasons.join(" ")).toMatch(/public\.encounters\.notes \((predicate|ordering|join)\)/);
  });

  it("leaves predicates on other encounter columns alone", async () => {
    expect(
      await masking("SELECT notes FROM encounters WHERE patient_id <= 10 AND department = 'Emergency'"),
    ).toEqual(["detect"]);
  });
});

describe("masking through a view (none exists in the demo schema)", () => {
  const withView: Catalog = {
    ...CATALOG,
    version: "leak-regressions-view",
    relations: [
      ...CATALOG.relations,
      {
        schema: "public",
        table: "patient_contacts",
        kind: "view",
        columns: [{ name: "id", type: "integer" }, ...text("email_upper", "ssn", "whole")],
        definition:
          " SELECT patients.id, upper(patients.email) AS email_upper, patients.ssn, patients::text AS whole FROM patients;",
      },
    ],
  };
  let granted: LoadedPolicy;

  beforeAll(async () => {
    const demo = await readFile(resolve("policy/demo.yaml"), "utf8");
    const tables = "tables: [public.patients, public.encounters, public.medications]";
    expect(demo).toContain(tables);
    granted = parsePolicy(
      demo.replace(
        tables,
        "tables: [public.patients, public.encounters, public.medications, public.patient_contacts]",
      ),
      "demo + view",
    );
  });

  it("masks a view's columns by the base columns they come from", async () => {
    const { decision, plan } = await decide(
      "SELECT id, email_upper, ssn FROM patient_contacts WHERE id <= 10",
      withView,
      granted,
    );
    expect(decision.outcome).toBe("allow");
    expect(plan?.columns.map((c) => c.strategy)).toEqual([null, "nullify", "partial"]);
  });

  it("denies a view column that is a whole row, and infers through the view's columns", async () => {
    for (const sql of [
      "SELECT whole FROM patient_contacts WHERE id <= 10",
      "SELECT * FROM patient_contacts",
    ]) {
      expect((await decide(sql, withView, granted)).decision.outcome).toBe("deny");
    }
    const ordered = await decide(
      "SELECT id FROM patient_contacts WHERE id <= 10 ORDER BY ssn",
      withView,
      granted,
    );
    expect(ordered.decision.outcome).toBe("require_approval");
  });

  /** `v1` over patients, each `v<k>` over `v<k-1>`. */
  function chain(depth: number): Catalog {
    const views = [];
    for (let k = 1; k <= depth; k++) {
      views.push({
        schema: "public",
        table: `v${k}`,
        kind: "view" as const,
        columns: [{ name: "id", type: "integer" }, ...text("ssn")],
        definition: ` SELECT id, ssn FROM ${k === 1 ? "patients" : `v${k - 1}`};`,
      });
    }
    return {
      ...CATALOG,
      version: `leak-regressions-chain-${depth}`,
      relations: [...CATALOG.relations, ...views],
    };
  }

  it("keeps lineage through 16 nested views and refuses deeper nesting instead of reading a view as a table", () => {
    const sixteen = analyzeSql("SELECT ssn FROM v16", chain(16)).classification;
    expect(sixteen.outputs[0]?.sources).toContainEqual(
      expect.objectContaining({ schema: "public", table: "patients", column: "ssn" }),
    );
    let error: unknown;
    try {
      analyzeSql("SELECT ssn FROM v17", chain(17));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).details).toMatchObject({ reason: "too_complex" });
  });

  it("refuses a view whose definition does not parse (or has too few columns) instead of reading it as a table", () => {
    for (const definition of [" SELECT id, ssn FROM patients WHERE;", " SELECT id FROM patients;"]) {
      const broken: Catalog = {
        ...CATALOG,
        version: `leak-regressions-broken-${definition}`,
        relations: [
          ...CATALOG.relations,
          {
            schema: "public",
            table: "broken",
            kind: "view",
            columns: [{ name: "id", type: "integer" }, ...text("ssn")],
            definition,
          },
        ],
      };
      expect(() => analyzeSql("SELECT ssn FROM broken", broken), definition).toThrow(InternalError);
    }
  });

  it("denies the view under the demo policy, which does not grant it", async () => {
    expect((await decide("SELECT id FROM patient_contacts WHERE id <= 10", withView)).decision.outcome).toBe(
      "deny",
    );
  });
});

describe("the policy's second line of function denials", () => {
  it("denies every side-effect function the classifier knows, even in a statement classified as a read", async () => {
    const { classification } = analyzeSql("SELECT id FROM encounters LIMIT 1", CATALOG);
    // Functions only the classifier's lists used to name (before the policy's list was derived from them).
    for (const name of [
      "pg_try_advisory_lock",
      "pg_notify",
      "pg_file_write",
      "dblink_connect_u",
      "table_to_xmlschema",
    ]) {
      const decision = evaluate(
        policy,
        NIGHTLY,
        { ...classification, functions: [{ name, origin: "system" }] } as Classification,
        { devIssuer: undefined },
      );
      expect(decision.outcome, name).toBe("deny");
      expect(decision.reasons.join(" "), name).toContain(`denied functions: ${name}`);
    }
  });
});
