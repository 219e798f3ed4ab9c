// Leaks the masking leak suite found (issues 4 and 13), pinned at the decision level (parse, classify, decide with
// the demo policy): protected values are opaque, so every use outside the spec's allow-list is denied by the
// opacity rule, with a reason naming the construct and the column, and never sent to approval.

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { BadRequestError, InternalError } from "#shared/errors.ts";
import type { Principal } from "#shared/identity/principal.ts";
import { evaluate } from "#shared/policy/evaluate.ts";
import { type LoadedPolicy, loadPolicyFile, parsePolicy } from "#shared/policy/load.ts";
import { decideStatement, type FullDecision } from "#shared/sessions/decide.ts";
import { analyzeSql } from "#shared/sql/parse-and-classify.ts";
import { loadSqlParser } from "#shared/sql/parser.ts";
import type { Catalog, Classification } from "#shared/sql/types.ts";
import { describeNames, reasonsNaming } from "#test/support/adversarial/denial-names.ts";
import {
  ADVERSARIAL_STATEMENTS,
  type AdversarialStatement,
  type DenialNames,
  ISSUE_13_CYCLE,
  ISSUE_13_PREDICATE_SPELLING,
  ISSUE_13_UNION,
  TEN_ERRORS_CASE,
} from "#test/support/adversarial/statements.ts";
import { testBuiltins } from "#test/support/builtins.ts";

const text = (...names: string[]) => names.map((name) => ({ name, type: "text" }));

/** The demo schema, as the catalog reader would describe it. */
const CATALOG: Catalog = {
  version: "leak-regressions",
  searchPath: ["public"],
  builtins: testBuiltins(),
  relations: [
    {
      schema: "public",
      table: "patients",
      kind: "table",
      columns: [
        { name: "id", type: "integer", unique: true },
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
        { name: "id", type: "integer", unique: true },
        { name: "patient_id", type: "integer" },
        { name: "admitted_at", type: "timestamp with time zone" },
        { name: "discharged_at", type: "timestamp with time zone" },
        ...text("department", "diagnosis_code", "notes"),
      ],
    },
    {
      schema: "public",
      table: "medications",
      kind: "table",
      columns: [
        { name: "id", type: "integer", unique: true },
        { name: "patient_id", type: "integer" },
        ...text("drug", "dose"),
        { name: "started_at", type: "date" },
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

const SSN: DenialNames = { columns: ["public.patients.ssn"], constructs: [] };

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
async function masking(sql: string, using = policy): Promise<(string | null)[] | string> {
  const { decision, plan } = await decide(sql, CATALOG, using);
  if (decision.outcome !== "allow" || plan === undefined) return decision.outcome;
  return plan.columns.map((c) => c.strategy);
}

/**
 * Expects a denial by the opacity rule (or, for a result that cannot be masked — whole rows, JSON/XML in the
 * output — by the masking plan) whose reasons name `names`, or by the function rule for a call of no built-in;
 * never a referral to an approver.
 */
async function expectOpaque(
  sql: string,
  names: DenialNames,
  catalog = CATALOG,
  using = policy,
): Promise<void> {
  const { decision } = await decide(sql, catalog, using);
  expect(decision.outcome, `${sql}: ${decision.reasons.join(" | ")}`).toBe("deny");
  // Attribute notation (`ssn(p)` for `p.ssn`) calls no function `pg_proc` lists: the function rule refuses it first.
  if (decision.rules.includes("functions")) {
    expect(decision.reasons.join(" ")).toMatch(/\(not a built-in function\)/);
    return;
  }
  expect(decision.rules.filter((r) => r === "opacity" || r === "masking")).not.toEqual([]);
  expect(reasonsNaming(decision.reasons, names), describeNames(names, decision.reasons)).not.toEqual([]);
}

/** The part of the demo policy's document the variants change. */
interface DemoDocument {
  masking: { onTransform?: string; rules: Record<string, Record<string, unknown>> };
}

function ruleOf(doc: DemoDocument, column: string): Record<string, unknown> {
  const rule = doc.masking.rules[column];
  if (rule === undefined) throw new Error(`the demo policy has no rule for ${column}`);
  return rule;
}

/** The demo policy with a change to its parsed document. */
async function demoWith(change: (doc: DemoDocument) => void): Promise<LoadedPolicy> {
  const doc = parse(await readFile(resolve("policy/demo.yaml"), "utf8"));
  change(doc);
  return parsePolicy(stringify(doc), "demo variant");
}

describe("issue 13's reproducers", () => {
  it.each([
    ["the CYCLE mark", ISSUE_13_CYCLE, ["cycle", "recursive", "substr"]],
    ["duplicate removal in a recursive UNION", ISSUE_13_UNION, ["recursive", "union", "substr"]],
    [
      "a join predicate spelling the SSN with constants",
      ISSUE_13_PREDICATE_SPELLING,
      ["substr", "join", "="],
    ],
    ["a CASE raising ten different errors", TEN_ERRORS_CASE, ["case", "substr"]],
  ])("denies %s by the opacity rule, naming the SSN", async (_, sql, constructs) => {
    await expectOpaque(sql, { ...SSN, constructs });
  });
});

describe("every adversarial statement", () => {
  const byOutcome = (outcome: AdversarialStatement["expect"]) =>
    ADVERSARIAL_STATEMENTS.filter((s) => s.expect === outcome);

  it.each(ADVERSARIAL_STATEMENTS.filter((s) => s.names !== undefined))(
    "[$category] denies $sql, naming what it uses",
    async (statement) => {
      await expectOpaque(statement.sql, statement.names as DenialNames);
    },
  );

  it.each(byOutcome("masked"))("[$category] runs $sql with at least one masked column", async ({ sql }) => {
    const strategies = await masking(sql);
    expect(Array.isArray(strategies), String(strategies)).toBe(true);
    expect((strategies as (string | null)[]).some((s) => s !== null)).toBe(true);
  });

  it.each(byOutcome("allowed"))("[$category] runs $sql with no column rule applied", async ({ sql }) => {
    const strategies = await masking(sql);
    expect(Array.isArray(strategies), String(strategies)).toBe(true);
    // The detectors' second line over every text cell may be planned; no column's own rule may be.
    expect((strategies as (string | null)[]).filter((s) => s !== null && s !== "detect")).toEqual([]);
  });

  it.each(byOutcome("denied").filter((s) => s.names === undefined))(
    "[$category] refuses $sql",
    async ({ sql }) => {
      const { decision } = await decide(sql);
      expect(decision.outcome, decision.reasons.join(" | ")).toBe("deny");
    },
  );

  it.each(byOutcome("approval"))("[$category] sends $sql to an approver", async ({ sql }) => {
    const { decision } = await decide(sql);
    expect(decision.outcome).toBe("require_approval");
    expect(decision.rules).not.toContain("opacity");
  });
});

describe("total operations in output are nulled, other transformations denied", () => {
  it.each([
    ["SELECT upper(ssn) FROM patients WHERE id <= 10", ["nullify"]],
    ["SELECT ssn || city FROM patients WHERE id <= 10", ["nullify"]],
    ["SELECT coalesce(email, phone) FROM patients WHERE id <= 10", ["nullify"]],
    ["SELECT CASE WHEN id = 1 THEN ssn ELSE mrn END FROM patients WHERE id <= 10", ["nullify"]],
    ["SELECT ssn, mrn FROM patients WHERE id <= 10", ["redact", "tokenize"]],
    ["SELECT notes FROM encounters WHERE patient_id <= 10", ["detect"]],
    ["SELECT upper(notes) FROM encounters WHERE patient_id <= 10", ["nullify"]],
  ])("%s → %j", async (sql, strategies) => {
    expect(await masking(sql)).toEqual(strategies);
  });

  it("denies a total operation too under onTransform: deny", async () => {
    const strict = await demoWith((doc) => {
      doc.masking.onTransform = "deny";
    });
    expect(
      (await decide("SELECT upper(ssn) FROM patients WHERE id <= 10", CATALOG, strict)).decision.outcome,
    ).toBe("deny");
    expect(await masking("SELECT ssn FROM patients WHERE id <= 10", strict)).toEqual(["redact"]);
  });

  it.each([
    ["SELECT ARRAY[ssn] FROM patients WHERE id <= 10", "array"],
    ["SELECT ROW(ssn) FROM patients WHERE id <= 10", "row"],
    ["SELECT reverse(notes) FROM encounters WHERE patient_id <= 10", "reverse"],
    ["SELECT string_agg(notes, ' ') FROM encounters WHERE patient_id <= 10", "string_agg"],
    ["SELECT xmlelement(name x, notes) FROM encounters WHERE patient_id <= 10", "xmlelement"],
    ["SELECT count(DISTINCT ssn) FROM patients WHERE id <= 10", "distinct"],
  ])("denies %s (formerly nulled, scanned or allowed)", async (sql, construct) => {
    const column = sql.includes("notes") ? "public.encounters.notes" : "public.patients.ssn";
    await expectOpaque(sql, { columns: [column], constructs: [construct] });
  });
});

describe("uses that used to go to an approver are denied", () => {
  it.each([
    ["SELECT id FROM patients WHERE id <= 10 AND ssn LIKE '3%'", "like"],
    ["SELECT id FROM patients WHERE id <= 10 ORDER BY ssn", "order"],
    ["SELECT count(*) FROM patients WHERE id <= 10 GROUP BY ssn", "group"],
    ["SELECT ssn FROM patients WHERE id <= 10 UNION SELECT '1'", "union"],
    ["SELECT ssn FROM patients WHERE id <= 10 UNION ALL SELECT '1'", "union"],
    ["SELECT generate_series(1, length(ssn)) FROM patients WHERE id <= 10", "length"],
    [
      "SELECT id FROM patients WHERE id <= 10 LIMIT (SELECT length(ssn) FROM patients WHERE id = 1)",
      "length",
    ],
  ])("%s", async (sql, construct) => {
    await expectOpaque(sql, { ...SSN, constructs: construct === "like" ? ["like", "~~"] : [construct] });
  });

  it("leaves predicates on other columns alone", async () => {
    expect(
      await masking("SELECT notes FROM encounters WHERE patient_id <= 10 AND department = 'Emergency'"),
    ).toEqual(["detect"]);
    expect(await masking("SELECT DISTINCT department FROM encounters WHERE patient_id <= 10")).toEqual([
      null,
    ]);
  });
});

describe("lookups, as the policy allows them per column", () => {
  it("allows the demo policy's lookups by MRN, up to 100 literals", async () => {
    expect(await masking("SELECT id FROM patients WHERE mrn = 'MRN-0000001'")).toEqual([null]);
    const hundred = Array.from({ length: 100 }, (_, i) => `'MRN-${String(i).padStart(7, "0")}'`);
    expect(await masking(`SELECT id FROM patients WHERE mrn IN (${hundred.join(", ")})`)).toEqual([null]);
    await expectOpaque(`SELECT id FROM patients WHERE mrn IN (${[...hundred, "'MRN-9999999'"].join(", ")})`, {
      columns: ["public.patients.mrn"],
      constructs: ["100", "lookup", "literal"],
    });
  });

  it("denies a lookup on a column whose rule does not allow it (the default), and refers it when it says approval", async () => {
    const silent = await demoWith((doc) => {
      delete ruleOf(doc, "public.patients.ssn").lookup;
    });
    await expectOpaque(
      "SELECT id FROM patients WHERE ssn = '000-00-0000'",
      { ...SSN, constructs: ["lookup"] },
      CATALOG,
      silent,
    );
    const referred = await demoWith((doc) => {
      ruleOf(doc, "public.patients.ssn").lookup = "approval";
    });
    const { decision } = await decide("SELECT id FROM patients WHERE ssn = '000-00-0000'", CATALOG, referred);
    expect(decision.outcome).toBe("require_approval");
    expect(
      (await decide("SELECT id FROM patients WHERE ssn LIKE '0%'", CATALOG, referred)).decision.outcome,
    ).toBe("deny");
  });
});

describe("equi-joins need the same semantic type", () => {
  const sql = "SELECT p.id FROM patients p JOIN patients q ON p.first_name = q.last_name WHERE p.id <= 10";

  it("denies a join of two protected columns of different types, and allows it once the policy types them alike", async () => {
    const untyped = await demoWith((doc) => {
      delete ruleOf(doc, "public.patients.first_name").type;
      delete ruleOf(doc, "public.patients.last_name").type;
    });
    await expectOpaque(
      sql,
      { columns: ["public.patients.first_name", "public.patients.last_name"], constructs: ["=", "join"] },
      CATALOG,
      untyped,
    );
    const typed = await demoWith((doc) => {
      ruleOf(doc, "public.patients.first_name").type = "person_name";
      ruleOf(doc, "public.patients.last_name").type = "person_name";
    });
    expect(await masking(sql, typed)).toEqual([null]);
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
    expect(plan?.columns.map((c) => c.strategy)).toEqual([null, "nullify", "redact"]);
  });

  it("denies a view column that is a whole row, and uses of the view's protected columns", async () => {
    for (const sql of [
      "SELECT whole FROM patient_contacts WHERE id <= 10",
      "SELECT * FROM patient_contacts",
    ]) {
      expect((await decide(sql, withView, granted)).decision.outcome).toBe("deny");
    }
    await expectOpaque(
      "SELECT id FROM patient_contacts WHERE id <= 10 ORDER BY ssn",
      { ...SSN, constructs: ["order", "sort"] },
      withView,
      granted,
    );
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
