// The opacity rules at the decision level: each allowed form allowed, each construct denied with its name and column.

import { beforeAll, describe, expect, it } from "vitest";
import type { MaskingPlanPolicy } from "#shared/masking/plan.ts";
import { checkOpacity, joinsOnProtected, MAX_LOOKUP_VALUES, readsProtected } from "#shared/policy/opacity.ts";
import { classify } from "#shared/sql/classify.ts";
import { loadSqlParser, parseStatement } from "#shared/sql/parser.ts";
import type { Catalog, Classification } from "#shared/sql/types.ts";
import { ddlCatalog } from "#test/support/builtins.ts";
import { EHR_SCHEMA_SQL } from "#tools/ehr/schema.ts";

let catalog: Catalog;

const MASKING: MaskingPlanPolicy = {
  rules: {
    "public.patients.ssn": { strategy: "redact", replacement: "[REDACTED]", lookup: "approval" },
    "public.patients.mrn": {
      strategy: "tokenize",
      prefix: "mrn",
      normalize: [],
      lookup: "allow",
      type: "mrn",
    },
    "public.patients.first_name": { strategy: "tokenize", prefix: "name", normalize: [] },
    "public.patients.dob": { strategy: "generalize", to: "birth_year" },
    "public.patients.phone": { strategy: "redact", replacement: "[REDACTED]" },
  },
  onTransform: "strictest",
  wholeRow: "deny",
  detectors: { columns: ["public.encounters.notes"], kinds: ["ssn", "phone"] },
};

function classified(sql: string): Classification {
  return classify(parseStatement(sql), catalog);
}

function verdict(sql: string) {
  return checkOpacity(classified(sql), MASKING);
}

function exposuresOf(sql: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of classified(sql).exposures) out[`${e.table}.${e.column}`] = [...e.via];
  return out;
}

beforeAll(async () => {
  await loadSqlParser();
  catalog = ddlCatalog(EHR_SCHEMA_SQL);
});

describe("allowed uses of protected values", () => {
  it.each([
    "SELECT id, ssn, mrn, dob, first_name FROM patients WHERE id < 10",
    "SELECT id, mrn FROM patients WHERE mrn = 'MRN-0000001'",
    "SELECT id FROM patients WHERE 'MRN-0000001' = mrn AND id > 3",
    "SELECT id FROM patients WHERE mrn IN ('MRN-0000001', 'MRN-0000002')",
    "SELECT id FROM patients WHERE mrn = ANY (ARRAY['MRN-0000001', $1])",
    "SELECT id FROM patients WHERE mrn = $1::text",
    "SELECT id FROM patients p JOIN encounters e ON e.patient_id = p.id AND p.mrn = 'MRN-0000001'",
    "SELECT id FROM (SELECT id, mrn AS m FROM patients) t WHERE m = 'MRN-0000001'",
    "WITH x AS (SELECT id, mrn FROM patients) SELECT id FROM x WHERE mrn = $1",
    "SELECT id FROM patients WHERE phone IS NULL AND ssn IS NOT NULL",
    "SELECT count(ssn), count(*), count(phone) FILTER (WHERE id > 5) FROM patients",
    "SELECT p.id FROM patients p JOIN patients q ON p.mrn = q.mrn WHERE p.id < 5",
    "SELECT p.id FROM patients p LEFT JOIN patients q USING (mrn)",
    "SELECT upper(first_name), ssn || '', concat(ssn, mrn), dob::text, coalesce(phone, 'none') FROM patients",
    "SELECT CASE WHEN id = 1 THEN ssn ELSE 'x' END FROM patients",
    "SELECT e.id, e.notes FROM encounters e WHERE e.patient_id = 3",
    "SELECT id, department FROM encounters LIMIT 5",
    "SELECT state, count(*) FROM patients GROUP BY state ORDER BY 2 DESC",
  ])("allows %s", (sql) => {
    expect(verdict(sql)).toEqual({ outcome: "allow", reasons: [], rules: [] });
  });

  it("sends a lookup by a column whose rule says approval to an approver", () => {
    const v = verdict("SELECT id FROM patients WHERE ssn = '123-45-6789'");
    expect(v.outcome).toBe("require_approval");
    expect(v.rules).toEqual(["opacity-lookup"]);
    expect(v.reasons.join(" ")).toContain("public.patients.ssn");
  });

  it("counts lookup literals and denies a statement over the limit", () => {
    const list = Array.from(
      { length: MAX_LOOKUP_VALUES + 1 },
      (_, i) => `'MRN-${String(i).padStart(7, "0")}'`,
    );
    const v = verdict(`SELECT id FROM patients WHERE mrn IN (${list.join(", ")})`);
    expect(v.outcome).toBe("deny");
    expect(v.reasons.join(" ")).toContain(`at most ${MAX_LOOKUP_VALUES}`);
    expect(classified(`SELECT id FROM patients WHERE mrn IN ('a', 'b', $1)`).lookupValues).toBe(3);
  });
});

describe("denied uses, each named with its construct and column", () => {
  it.each([
    ["SELECT substr(ssn, 1, 3) FROM patients", "ssn", "a function (substr)"],
    ["SELECT id FROM patients WHERE ssn LIKE '1%'", "ssn", "a WHERE condition"],
    ["SELECT id FROM patients WHERE substr(mrn, 5, 1) = '0'", "mrn", "a function (substr)"],
    ["SELECT id FROM patients WHERE dob > '1950-01-01'", "dob", "an operator (>)"],
    [
      "SELECT id FROM patients WHERE dob = '1950-01-01'",
      "dob",
      "an equality lookup, which the policy does not allow",
    ],
    ["SELECT id FROM patients WHERE mrn = 'a' OR id = 1", "mrn", "a WHERE condition"],
    ["SELECT id FROM patients WHERE mrn NOT IN ('a')", "mrn", "an IN list"],
    ["SELECT id FROM patients WHERE mrn = upper('a')", "mrn", "a WHERE condition"],
    ["SELECT mrn, count(*) FROM patients GROUP BY mrn", "mrn", "GROUP BY"],
    ["SELECT DISTINCT mrn FROM patients", "mrn", "DISTINCT"],
    ["SELECT DISTINCT ON (mrn) id FROM patients", "mrn", "DISTINCT ON"],
    ["SELECT id FROM patients ORDER BY dob", "dob", "ORDER BY"],
    ["SELECT string_agg(id::text, ',' ORDER BY ssn) FROM patients", "ssn", "an aggregate's ORDER BY"],
    ["SELECT count(DISTINCT mrn) FROM patients", "mrn", "an aggregate's DISTINCT"],
    ["SELECT count(*) FILTER (WHERE ssn LIKE '1%') FROM patients", "ssn", "an aggregate's FILTER"],
    ["SELECT row_number() OVER (PARTITION BY mrn) FROM patients", "mrn", "a window's PARTITION BY"],
    ["SELECT rank() OVER (ORDER BY dob) FROM patients", "dob", "a window's ORDER BY"],
    ["SELECT lag(ssn) OVER (ORDER BY id) FROM patients", "ssn", "a function (lag)"],
    ["SELECT mrn FROM patients UNION ALL SELECT 'MRN-0000001'", "mrn", "a set operation (UNION ALL)"],
    ["SELECT ssn FROM patients INTERSECT SELECT '123-45-6789'", "ssn", "a set operation (INTERSECT)"],
    [
      "SELECT v.x FROM patients p, LATERAL (VALUES (p.mrn), ('MRN-0000001')) v(x)",
      "mrn",
      "a multi-row VALUES list",
    ],
    [
      "SELECT id FROM patients LIMIT (SELECT length(ssn) FROM patients LIMIT 1)",
      "ssn",
      "a function (length)",
    ],
    [
      "SELECT id FROM patients OFFSET (SELECT count(*) FROM patients WHERE ssn > '5')",
      "ssn",
      "an operator (>)",
    ],
    ["SELECT generate_series(1, length(ssn)) FROM patients", "ssn", "a function (length)"],
    [
      "SELECT CASE WHEN ssn IS NULL THEN 1 WHEN ssn = 'x' THEN 2 END FROM patients",
      "ssn",
      "a CASE condition",
    ],
    ["SELECT CASE mrn WHEN 'MRN-0000001' THEN 1 END FROM patients", "mrn", "a CASE condition"],
    ["SELECT ssn::int FROM patients", "ssn", "a cast to int4"],
    ["SELECT nullif(ssn, '') FROM patients", "ssn", "a function (nullif)"],
    ["SELECT greatest(ssn, 'x') FROM patients", "ssn", "a function (greatest)"],
    ["SELECT ARRAY[ssn] FROM patients", "ssn", "an ARRAY constructor"],
    ["SELECT ROW(ssn) FROM patients", "ssn", "a ROW constructor"],
    [
      "SELECT id FROM patients WHERE mrn IN (SELECT mrn FROM patients WHERE id = 1)",
      "mrn",
      "a subquery comparison (ANY)",
    ],
    [
      "SELECT p.id FROM patients p JOIN patients q ON p.mrn = q.ssn",
      "mrn",
      "a join with public.patients.ssn",
    ],
    [
      "SELECT p.id FROM patients p JOIN encounters e ON e.notes LIKE '%' || p.mrn || '%'",
      "notes",
      "a JOIN ... ON condition",
    ],
    ["SELECT id FROM encounters WHERE notes LIKE '%SSN%'", "notes", "an operator (~~)"],
    ["SELECT id FROM patients p, (VALUES ('x')) v(g) WHERE p.mrn = v.g", "mrn", "a WHERE condition"],
    [
      "SELECT id FROM patients TABLESAMPLE BERNOULLI (50) REPEATABLE ((SELECT length(ssn) FROM patients LIMIT 1))",
      "ssn",
      "a function (length)",
    ],
    ["SELECT md5(mrn) FROM patients", "mrn", "a function (md5)"],
    [
      "WITH RECURSIVE t(d) AS (SELECT mrn FROM patients WHERE id = 1 UNION SELECT 'x' FROM t) SELECT count(*) FROM t",
      "mrn",
      "a recursive CTE",
    ],
    [
      `WITH RECURSIVE t(pid,pos,d,n) AS (
        SELECT p.id, g.pos, substr(p.ssn, g.pos, 1), 31 FROM patients p CROSS JOIN generate_series(1,11) g(pos)
        UNION ALL SELECT pid, pos, chr(n), n+1 FROM t WHERE n < 127)
      CYCLE pid,pos,d SET hit USING path
      SELECT pid, string_agg(chr(n-1), '' ORDER BY pos) FROM t WHERE hit GROUP BY pid`,
      "ssn",
      "a CYCLE clause",
    ],
    // Found by an outside attack: a WITH RECURSIVE union split into branches merged guessed constants as copies.
    [
      "WITH RECURSIVE g(s, k) AS (SELECT ssn, 0 FROM patients WHERE false UNION ALL SELECT to_char(n, 'FM000-00-0000'), n FROM generate_series(1, 10) n) SELECT p.id, g.k FROM patients p JOIN g ON g.s = p.ssn",
      "ssn",
      "a set operation (UNION ALL)",
    ],
    [
      "WITH RECURSIVE g(n) AS (SELECT first_name FROM patients WHERE false UNION ALL SELECT x FROM unnest(ARRAY['Nora']) x) SELECT n FROM g",
      "first_name",
      "a set operation (UNION ALL)",
    ],
    [
      "WITH RECURSIVE g AS (SELECT ssn FROM patients UNION SELECT '389-52-0495') SELECT count(*) FROM g",
      "ssn",
      "a set operation (UNION)",
    ],
    // ... and an array literal counted as one lookup literal carried thousands.
    ["SELECT id FROM patients WHERE mrn = ANY (ARRAY[$1::text[]])", "mrn", "a WHERE condition"],
    ["SELECT id FROM patients WHERE mrn = ANY (ARRAY['{a,b}'::text[]])", "mrn", "a WHERE condition"],
    ["SELECT id FROM patients WHERE mrn = $1::public.text", "mrn", "a WHERE condition"],
  ])("denies %s", (sql, column, construct) => {
    const v = verdict(sql);
    expect(v.outcome).toBe("deny");
    expect(v.rules).toEqual(["opacity"]);
    const reason = v.reasons.find((r) => r.includes(`.${column} is used in`));
    expect(reason, v.reasons.join("\n")).toBeDefined();
    expect(reason).toContain(construct);
  });

  it("denies whole rows of a protected table passed to a function", () => {
    const v = verdict("SELECT md5(p::text) FROM patients p");
    expect(v.outcome).toBe("deny");
    expect(v.reasons.join(" ")).toContain("public.patients (whole rows)");
  });

  it("never sends a denied construct to approval, even next to an approvable lookup", () => {
    expect(verdict("SELECT id FROM patients WHERE ssn = '1' AND substr(mrn, 1, 1) = 'M'").outcome).toBe(
      "deny",
    );
  });
});

describe("exposures (policy-independent)", () => {
  it("records the construct of every use, and none for plain output", () => {
    expect(
      exposuresOf("SELECT ssn, upper(mrn) FROM patients WHERE dob IS NULL AND mrn = 'x' ORDER BY id"),
    ).toEqual({
      "patients.dob": ["null_test"],
      "patients.id": ["order_by"],
      "patients.mrn": ["function:upper", "lookup"],
    });
  });

  it("does not expose what EXISTS and unused subquery columns drop", () => {
    expect(
      exposuresOf(
        "SELECT count(*) FROM (SELECT ssn FROM patients) t WHERE EXISTS (SELECT mrn FROM patients)",
      ),
    ).toEqual({});
  });

  it("exposes only a CTE that refers to itself as recursive", () => {
    expect(exposuresOf("WITH RECURSIVE x AS (SELECT ssn FROM patients) SELECT ssn FROM x")).toEqual({});
  });

  it("treats an outer join's ON lookup as a plain condition", () => {
    expect(
      exposuresOf("SELECT e.id FROM encounters e LEFT JOIN patients p ON p.mrn = 'x'")["patients.mrn"],
    ).toEqual(["join_on", "operator:="]);
  });
});

describe("readsProtected", () => {
  it("is true for any read of a protected or detector column, anywhere", () => {
    expect(readsProtected(classified("SELECT id FROM patients WHERE mrn = 'x'"), MASKING)).toBe(true);
    expect(readsProtected(classified("SELECT count(*) FROM encounters WHERE notes IS NULL"), MASKING)).toBe(
      true,
    );
    expect(readsProtected(classified("SELECT id, department FROM encounters"), MASKING)).toBe(false);
  });
});

describe("joinsOnProtected", () => {
  it("is true for an equi-join on a protected column (its executor turns hash and merge joins off)", () => {
    expect(
      joinsOnProtected(classified("SELECT p.id FROM patients p JOIN patients q ON q.mrn = p.mrn"), MASKING),
    ).toBe(true);
    expect(
      joinsOnProtected(classified("SELECT p.id FROM patients p JOIN patients q USING (mrn)"), MASKING),
    ).toBe(true);
    expect(
      joinsOnProtected(
        classified("SELECT e.id FROM encounters e JOIN patients p ON p.id = e.patient_id"),
        MASKING,
      ),
    ).toBe(false);
  });
});
