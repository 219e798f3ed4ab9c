// The row masker: the demo result end to end, types, arrays and json, statistics, and failing closed.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MaskingFailedError } from "#shared/errors.ts";
import { compileDetectors } from "#shared/masking/detectors.ts";
import { compileMasker, type Masker, type MaskerOptions } from "#shared/masking/masker.ts";
import { type MaskingPlan, planMasking } from "#shared/masking/plan.ts";
import { columnRuleSchema } from "#shared/masking/rules.ts";
import type { CellValue, OutputColumnLineage, ResultColumn, Row } from "#shared/sql/types.ts";
import { seededRandom } from "#test/support/seeded-random.ts";
import { col, copy, demoMasking, derived, policy } from "./fixtures.ts";

const key = randomBytes(32);
const clock = { now: () => new Date("2026-06-15T12:00:00Z") };
const detectors = compileDetectors(demoMasking.detectors);

const TYPES: Record<string, [string, number]> = {
  int4: ["int4", 23],
  text: ["text", 25],
  date: ["date", 1082],
  json: ["jsonb", 3802],
  _text: ["_text", 1009],
  _int4: ["_int4", 1007],
  bool: ["bool", 16],
};

function column(name: string, type: keyof typeof TYPES): ResultColumn {
  const [t, oid] = TYPES[type] as [string, number];
  return { name, type: t, typeOid: oid };
}

function planFor(outputs: OutputColumnLineage[], p = policy()): MaskingPlan {
  const plan = planMasking(outputs, undefined, p);
  if (plan.decision !== "allow") throw new Error("denied");
  return plan;
}

function masker(
  outputs: OutputColumnLineage[],
  columns: ResultColumn[],
  extra: Partial<MaskerOptions> = {},
): Masker {
  return compileMasker({
    plan: planFor(outputs),
    columns,
    keys: { tokenizationKey: key },
    clock,
    detectors,
    ...extra,
  });
}

const DEMO_OUTPUTS = [
  copy(0, "id", col("patients", "id")),
  copy(1, "mrn", col("patients", "mrn")),
  copy(2, "ssn", col("patients", "ssn")),
  copy(3, "first_name", col("patients", "first_name")),
  copy(4, "last_name", col("patients", "last_name")),
  copy(5, "dob", col("patients", "dob")),
  copy(6, "zip", col("patients", "zip")),
  copy(7, "phone", col("patients", "phone")),
  copy(8, "email", col("patients", "email")),
  copy(9, "notes", col("encounters", "notes")),
];
const DEMO_COLUMNS = [
  column("id", "int4"),
  column("mrn", "text"),
  column("ssn", "text"),
  column("first_name", "text"),
  column("last_name", "text"),
  column("dob", "date"),
  column("zip", "text"),
  column("phone", "text"),
  column("email", "text"),
  column("notes", "text"),
];

describe("compileMasker on the demo result", () => {
  const rows: Row[] = [
    [
      1,
      "MRN-0000001",
      "123-45-6789",
      "Jane",
      "Smith",
      "1984-03-12",
      "02139",
      "617-555-0123",
      "jane@example.com",
      "Pt called from 617-555-0199 re MRN-0000001, SSN 123-45-6789.",
    ],
    [2, "MRN-0000002", "987-65-4321", "JOHN ", "SMITH ", "1930-01-01", "03601", null, null, null],
  ];
  const snapshot = structuredClone(rows);
  const m = masker(DEMO_OUTPUTS, DEMO_COLUMNS);
  const out = m.maskPage(rows);

  it("masks every protected column by its rule and leaves the rest", () => {
    const [a, b] = out as [Row, Row];
    expect(a[0]).toBe(1);
    expect(a[1]).toMatch(/^mrn_[0-9a-f]{24}$/);
    expect(a[2]).toBe("***-**-6789");
    expect(a[3]).toMatch(/^name_[0-9a-f]{24}$/);
    expect(a[5]).toBe("1984");
    expect(a[6]).toBe("021");
    expect(a[7]).toBe("[REDACTED]");
    expect(a[8]).toBe("[REDACTED]");
    expect(a[9]).toBe("Pt called from [PHONE] re [MRN], SSN [SSN].");
    expect(b[5]).toBe("<=1936");
    expect(b[6]).toBe("000");
    expect(b.slice(7)).toEqual([null, null, null]);
  });

  it("tokenizes so that normalized spellings join across columns and rows", () => {
    const [a, b] = out as [Row, Row];
    expect(b[4]).toBe(a[4]);
    expect(b[3]).not.toBe(a[3]);
    expect(m.maskPage([rows[0] as Row])[0]?.[1]).toBe(a[1]);
    const again = masker(DEMO_OUTPUTS, DEMO_COLUMNS).maskPage([rows[0] as Row]);
    expect(again[0]?.[1]).toBe(a[1]);
    const otherKey = masker(DEMO_OUTPUTS, DEMO_COLUMNS, { keys: { tokenizationKey: randomBytes(32) } });
    expect(otherKey.maskPage([rows[0] as Row])[0]?.[1]).not.toBe(a[1]);
  });

  it("does not modify its input", () => {
    expect(rows).toEqual(snapshot);
    expect(out[0]).not.toBe(rows[0]);
  });

  it("reports columns with their masking and changed types", () => {
    expect(m.columns[0]).toEqual({ name: "id", type: "int4", typeOid: 23, masking: null });
    expect(m.columns[2]?.masking).toEqual({ rule: "public.patients.ssn", strategy: "partial" });
    expect(m.columns[5]).toEqual({
      name: "dob",
      type: "text",
      typeOid: 25,
      masking: { rule: "public.patients.dob", strategy: "generalize" },
    });
    expect(m.columns[9]?.masking).toEqual({ rule: "public.encounters.notes", strategy: "detect" });
  });

  it("accumulates statistics without values", () => {
    const stats = masker(DEMO_OUTPUTS, DEMO_COLUMNS);
    stats.maskPage(rows);
    stats.maskPage(rows);
    expect(stats.stats()).toEqual({
      rows: 4,
      masked: { partial: 4, generalize: 8, tokenize: 12, redact: 4, nullify: 0, detect: 2 },
      detectorHits: { ssn: 2, phone: 2, email: 0, mrn: 2, date: 0 },
      secondLineHits: 0,
      withheld: 0,
    });
  });
});

describe("types, arrays and json", () => {
  it("redacts text to the replacement and every other type to null", () => {
    const rules = { "public.t.a": columnRuleSchema.parse({ strategy: "redact" }) };
    const outputs = [copy(0, "a", col("t", "a")), copy(1, "b", col("t", "a")), copy(2, "c", col("t", "a"))];
    const m = compileMasker({
      plan: planFor(outputs, policy({ rules })),
      columns: [column("a", "text"), column("b", "int4"), column("c", "_text")],
      keys: { tokenizationKey: key },
      clock,
    });
    expect(m.maskPage([["x", 5, ["p", null, "q"]]])).toEqual([
      ["[REDACTED]", null, ["[REDACTED]", null, "[REDACTED]"]],
    ]);
    expect(m.columns.map((c) => c.type)).toEqual(["text", "int4", "_text"]);
  });

  it("masks every element of (nested) arrays and reports text arrays when the strategy yields text", () => {
    const rules = {
      "public.t.ssns": columnRuleSchema.parse({ strategy: "partial", keepLast: 2 }),
      "public.t.ids": columnRuleSchema.parse({ strategy: "tokenize" }),
    };
    const m = compileMasker({
      plan: planFor([copy(0, "ssns", col("t", "ssns")), copy(1, "ids", col("t", "ids"))], policy({ rules })),
      columns: [column("ssns", "_text"), column("ids", "_int4")],
      keys: { tokenizationKey: key },
      clock,
    });
    const [row] = m.maskPage([
      [
        [["12-34", null], ["56-78"]],
        [1, 2, 1],
      ],
    ]) as [Row];
    expect(row[0]).toEqual([["**-34", null], ["**-78"]]);
    const ids = row[1] as string[];
    expect(ids[0]).toMatch(/^tok_/);
    expect(ids[0]).toBe(ids[2]);
    expect(ids[0]).not.toBe(ids[1]);
    expect(m.columns.map((c) => [c.type, c.typeOid])).toEqual([
      ["_text", 1009],
      ["_text", 1009],
    ]);
  });

  it("passes nulls through every strategy and counts only values", () => {
    const m = masker(DEMO_OUTPUTS, DEMO_COLUMNS);
    const nulls = new Array(10).fill(null);
    expect(m.maskPage([nulls])).toEqual([nulls]);
    expect(Object.values(m.stats().masked).every((n) => n === 0)).toBe(true);
  });

  it("runs detectors over json keys and string leaves, and nulls numbers that look like PHI", () => {
    const outputs = [derived(0, "doc", ["json_xml"], [col("encounters", "notes")])];
    const m = masker(outputs, [column("doc", "json")]);
    const doc: CellValue = {
      "a@b.io": ["ssn 123-45-6789", 3, true, null],
      nested: { n: "call 617-555-0123" },
    };
    expect(m.maskPage([[doc]])).toEqual([
      [{ "[EMAIL]": ["ssn [SSN]", 3, true, null], nested: { n: "call [PHONE]" } }],
    ]);
    const numbers = masker(
      [derived(0, "n", ["aggregate"], [col("encounters", "notes")])],
      [column("n", "int4")],
    );
    expect(numbers.maskPage([[42], [null]])).toEqual([[42], [null]]);
    const rewritten = masker(
      [derived(0, "n", ["function"], [col("encounters", "notes")])],
      [column("n", "int4")],
    );
    expect(rewritten.maskPage([[42], [null]])).toEqual([[null], [null]]);
  });

  it("numbers json keys the detectors mask alike, so no value is dropped under another's key", () => {
    const outputs = [derived(0, "doc", ["json_xml"], [col("encounters", "notes")])];
    const m = masker(outputs, [column("doc", "json")]);
    const doc: CellValue = {
      "a 123-45-6789": 2,
      "a 987-65-4321": 1,
      "a [SSN] (2)": 3,
      nested: { "x@y.io": "q", "z@w.io": "p" },
    };
    const [[out]] = m.maskPage([[doc]]) as [[Record<string, unknown>]];
    // Keys left alone keep their names; masked ones are numbered past the names taken, in the order of their values.
    expect(out).toEqual({
      "a [SSN]": 1,
      "a [SSN] (3)": 2,
      "a [SSN] (2)": 3,
      nested: { "[EMAIL]": "p", "[EMAIL] (2)": "q" },
    });
    expect(Object.keys(out)).toEqual(["a [SSN]", "a [SSN] (2)", "a [SSN] (3)", "nested"]);
    // A literal key the detectors leave alone is never given another key's value.
    expect(m.maskPage([[{ "123-45-6789": "from-ssn", "[SSN]": "original" }]])).toEqual([
      [{ "[SSN]": "original", "[SSN] (2)": "from-ssn" }],
    ]);
    // Keys the detectors leave alone keep their names, `__proto__` an own key as JSON.parse made it.
    const plain = JSON.parse('{"__proto__": {"k": 1}, "b": 2}') as CellValue;
    const [[kept]] = m.maskPage([[plain]]) as [[Record<string, unknown>]];
    expect(Object.keys(kept)).toEqual(["__proto__", "b"]);
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
  });

  it("masks a json object the same whatever the order of its hidden keys (non-interference)", () => {
    // jsonb orders keys by length then bytes, so the input order tells how a hidden key compares with the caller's.
    const outputs = [derived(0, "doc", ["json_xml"], [col("encounters", "notes")])];
    const m = masker(outputs, [column("doc", "json")]);
    const random = seededRandom(0x5e1f);
    const ssn = () =>
      `${100 + Math.floor(random() * 800)}-${10 + Math.floor(random() * 89)}-${1000 + Math.floor(random() * 8999)}`;
    for (let n = 0; n < 300; n++) {
      const probe = `a ${ssn()}`;
      const hidden = [`a ${ssn()}`, `a ${ssn()}`];
      const values = ["x", random() < 0.5 ? "x" : "y"];
      const world = (order: number[]) =>
        Object.fromEntries([
          ...order.map((i) => [hidden[i] as string, values[i] as string]),
          [probe, "probe"],
          ["z", 1],
        ]);
      const [[a]] = m.maskPage([[world([0, 1])]]) as [[CellValue]];
      const [[b]] = m.maskPage([[world([1, 0])]]) as [[CellValue]];
      expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    }
  });

  it("masks 999 levels of tied keys, each level's values ordered in place (the thirty-fifth attack)", () => {
    // Ordering tied values by their JSON serialized each level's whole subtree again: 0.3–0.4 s of one core a row.
    const outputs = [derived(0, "doc", ["json_xml"], [col("encounters", "notes")])];
    const m = masker(outputs, [column("doc", "json")]);
    const depth = 999;
    const text = `${'{"123456789":null,"123456788":'.repeat(depth)}"${"x".repeat(28_000)}"${"}".repeat(depth)}`;
    const [[out]] = m.maskPage([[JSON.parse(text) as CellValue]]) as [[CellValue]];
    let level = out as Record<string, CellValue>;
    for (let i = 0; i < depth - 1; i++) {
      expect(Object.keys(level)).toEqual(["[SSN]", "[SSN] (2)"]);
      expect(level["[SSN]"]).toBeNull();
      level = level["[SSN] (2)"] as Record<string, CellValue>;
    }
    expect(level).toEqual({ "[SSN]": null, "[SSN] (2)": "x".repeat(28_000) });
  });

  it("numbers thousands of keys masked alike, each its own (the thirty-fourth attack's 4,000 SSN-shaped keys)", () => {
    const outputs = [derived(0, "doc", ["json_xml"], [col("encounters", "notes")])];
    const m = masker(outputs, [column("doc", "json")]);
    const doc = Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [String(100_000_000 + i), 0]));
    const [[out]] = m.maskPage([[doc]]) as [[Record<string, unknown>]];
    const keys = Object.keys(out);
    expect(keys).toHaveLength(4_000);
    expect(new Set(keys).size).toBe(4_000);
    expect(keys.every((k) => /^\[SSN\]( \((\d+)\))?$/.test(k))).toBe(true);
  });

  it("tokenizes a json value as a whole and nulls a json value under redact", () => {
    const rules = {
      "public.t.j": columnRuleSchema.parse({ strategy: "tokenize" }),
      "public.t.k": columnRuleSchema.parse({ strategy: "redact" }),
    };
    const m = compileMasker({
      plan: planFor([copy(0, "j", col("t", "j")), copy(1, "k", col("t", "k"))], policy({ rules })),
      columns: [column("j", "json"), column("k", "json")],
      keys: { tokenizationKey: key },
      clock,
    });
    const [row] = m.maskPage([[{ a: 1 }, { ssn: "123-45-6789" }]]) as [Row];
    expect(row[0]).toMatch(/^tok_[0-9a-f]{24}$/);
    expect(row[1]).toBeNull();
  });

  it("nulls transformed protected values whatever their type", () => {
    const outputs = [
      derived(0, "upper", ["function"], [col("patients", "last_name")]),
      derived(1, "arr", ["aggregate"], [col("patients", "ssn")]),
      derived(2, "b", ["operator"], [col("patients", "ssn")]),
    ];
    const m = masker(outputs, [column("upper", "text"), column("arr", "_text"), column("b", "bool")]);
    expect(m.maskPage([["SMITH", ["123-45-6789"], true]])).toEqual([[null, null, null]]);
    expect(m.columns.map((c) => c.masking?.strategy)).toEqual(["nullify", "nullify", "nullify"]);
  });

  it("withholds values a generalize rule cannot parse and counts them", () => {
    const m = masker([copy(0, "dob", col("patients", "dob"))], [column("dob", "date")]);
    expect(m.maskPage([["infinity"], ["1990-05-01"]])).toEqual([[null], ["1990"]]);
    expect(m.stats().withheld).toBe(1);
  });

  it("uses the injected clock for the over-89 bucket", () => {
    const at = (iso: string) =>
      masker([copy(0, "dob", col("patients", "dob"))], [column("dob", "date")], {
        clock: { now: () => new Date(iso) },
      });
    expect(at("2026-01-01T00:00:00Z").maskPage([["1937-06-01"]])).toEqual([["1937"]]);
    expect(at("2027-01-01T00:00:00Z").maskPage([["1937-06-01"]])).toEqual([["<=1937"]]);
  });
});

describe("failing closed", () => {
  const SECRET = "123-45-6789";

  function expectFailure(run: () => unknown): MaskingFailedError {
    let caught: unknown;
    try {
      run();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MaskingFailedError);
    const error = caught as MaskingFailedError;
    expect(error.status).toBe(500);
    expect(error.code).toBe("masking_failed");
    expect(`${error.message} ${JSON.stringify(error.details ?? {})}`).not.toContain(SECRET);
    return error;
  }

  const ssnOnly = () =>
    masker(
      [copy(0, "ssn", col("patients", "ssn")), copy(1, "id", col("patients", "id"))],
      [column("ssn", "text"), column("id", "int4")],
    );

  it.each([
    ["a short row", [SECRET]],
    ["a long row", [SECRET, 1, 2]],
    ["a row that is not an array", { 0: SECRET, 1: 1 }],
    ["undefined in a masked column", [undefined, 1]],
    ["a bigint in a masked column", [10n, 1]],
    ["a Date in a masked column", [new Date(), 1]],
    ["a Buffer in a masked column", [Buffer.from(SECRET), 1]],
    ["a boolean under partial", [true, 1]],
    ["an object under partial", [{ v: SECRET }, 1]],
    ["NaN in a masked column", [Number.NaN, 1]],
    ["Infinity in an array", [[SECRET, Number.POSITIVE_INFINITY], 1]],
    ["undefined in a passthrough column", [SECRET, undefined]],
    ["a function in a passthrough column", [SECRET, () => SECRET]],
    ["a Map in a passthrough column", [SECRET, new Map()]],
  ])("throws MaskingFailedError for %s, returning nothing", (_name, row) => {
    const m = ssnOnly();
    let returned: unknown;
    expectFailure(() => {
      returned = m.maskPage([["111-22-3333", 1], row as Row]);
    });
    expect(returned).toBeUndefined();
  });

  it("throws for a page that is not an array and for a row whose access throws", () => {
    const m = ssnOnly();
    expectFailure(() => m.maskPage(null as unknown as Row[]));
    const hostile = new Proxy([SECRET, 1], {
      get(target, prop) {
        if (prop === "0") throw new Error(`boom ${SECRET}`);
        return Reflect.get(target, prop);
      },
    });
    const error = expectFailure(() => m.maskPage([hostile as Row]));
    expect(error.cause).toBeUndefined();
  });

  it("refuses a planned column whose cell masker and rule/strategy disagree, rather than returning it raw", () => {
    const plan = planFor([copy(0, "ssn", col("patients", "ssn"))]);
    const [ssn] = plan.columns;
    if (ssn === undefined) throw new Error("no column");
    const compile = (changed: Partial<MaskingPlan["columns"][number]>) =>
      compileMasker({
        plan: { ...plan, columns: [{ ...ssn, ...changed }] },
        columns: [column("ssn", "text")],
        keys: { tokenizationKey: key },
        clock,
        detectors,
      });
    expectFailure(() => compile({ rule: null }));
    expectFailure(() => compile({ strategy: null }));
    expectFailure(() => compile({ spec: null, detectors: [] }));
    expect(compile({}).maskPage([[SECRET]])).toEqual([["***-**-6789"]]);
  });

  it("refuses to compile against a result that does not match the plan", () => {
    expectFailure(() => masker(DEMO_OUTPUTS, DEMO_COLUMNS.slice(1)));
    expectFailure(() =>
      compileMasker({
        plan: { decision: "deny", reasons: ["no"] } as unknown as MaskingPlan,
        columns: [],
        keys: { tokenizationKey: key },
        clock,
      }),
    );
  });

  it("refuses to compile without its key, detectors or a usable clock", () => {
    expectFailure(() => masker(DEMO_OUTPUTS, DEMO_COLUMNS, { keys: { tokenizationKey: randomBytes(8) } }));
    expectFailure(() => masker(DEMO_OUTPUTS, DEMO_COLUMNS, { detectors: undefined }));
    expectFailure(() => masker(DEMO_OUTPUTS, DEMO_COLUMNS, { clock: { now: () => new Date(Number.NaN) } }));
    const ssnOnlyDetectors = compileDetectors({ kinds: ["ssn"], replacements: {} });
    expectFailure(() => masker(DEMO_OUTPUTS, DEMO_COLUMNS, { detectors: ssnOnlyDetectors }));
  });
});
