// The non-interference worlds: B differs from A exactly in protected values, keeping what the policy's masking shows.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { compileGeneralizer } from "#shared/masking/generalize.ts";
import { maskPartial } from "#shared/masking/partial.ts";
import type { ColumnRule } from "#shared/masking/strategies.ts";
import { normalizeForToken } from "#shared/masking/tokenize.ts";
import { type LoadedPolicy, parsePolicy } from "#shared/policy/load.ts";
import { buildWorlds, type WorldPair } from "#test/support/non-interference/worlds.ts";

const DEMO = readFileSync("policy/demo.yaml", "utf8");
const EHR = { seed: 7, patients: 300, encounters: 1_800, medications: 900 };
const YEAR = 2026;

function worlds(policy: LoadedPolicy): WorldPair {
  return buildWorlds({ policy, principalId: "nightly-report", ehr: EHR, imageSeed: 3, currentYear: YEAR });
}

/** The demo policy's parsed YAML, edited. */
interface PolicyYaml {
  masking: { rules: Record<string, unknown>; detectors: unknown };
}

function variant(edit: (document: PolicyYaml) => void): LoadedPolicy {
  const document = parse(DEMO) as PolicyYaml;
  edit(document);
  return parsePolicy(stringify(document), "variant");
}

/** Every (A, B) value pair of a column. */
function pairs(
  w: WorldPair,
  table: "patients" | "encounters" | "medications",
  column: string,
): [string, string][] {
  const rowsA = w.a[table] as unknown as Record<string, unknown>[];
  const rowsB = w.b[table] as unknown as Record<string, unknown>[];
  return rowsA.flatMap((row, i) => {
    const a = row[column];
    const b = rowsB[i]?.[column];
    return typeof a === "string" && typeof b === "string" ? [[a, b] as [string, string]] : [];
  });
}

function masked(rule: ColumnRule, value: string): string | null {
  switch (rule.strategy) {
    case "partial":
      return maskPartial(value, rule);
    case "generalize":
      return compileGeneralizer(rule.to, { currentYear: YEAR })(value);
    case "tokenize":
      return "token";
    default:
      return null;
  }
}

describe("the worlds built from the demo policy", () => {
  const policy = parsePolicy(DEMO, "policy/demo.yaml");
  const w = worlds(policy);

  it("changes every value of every rule column, keeping what its rule shows, with fresh images of the same size", () => {
    const rules = w.protection.columns;
    expect(rules.size).toBeGreaterThan(5);
    for (const column of rules.values()) {
      if (column.rule === undefined) continue;
      const list = pairs(w, column.table as "patients", column.column);
      expect(list.length, column.key).toBeGreaterThan(100);
      const values = new Set(list.map(([a]) => (column.column.endsWith("name") ? a.toLowerCase() : a)));
      for (const [a, b] of list) {
        expect(masked(column.rule, b), `${column.key}: ${a} → ${b}`).toBe(masked(column.rule, a));
        expect(
          values.has(column.column.endsWith("name") ? b.toLowerCase() : b),
          `${column.key}: ${b} is fresh`,
        ).toBe(false);
        expect(Buffer.byteLength(b), column.key).toBe(Buffer.byteLength(a));
      }
    }
  });

  it("maps equal values (as tokenize normalizes them) to equal images, across columns, and distinct to distinct", () => {
    const names = [...pairs(w, "patients", "first_name"), ...pairs(w, "patients", "last_name")];
    const image = new Map<string, string>();
    const preimage = new Map<string, string>();
    for (const [a, b] of names) {
      const [ka, kb] = [
        normalizeForToken(a, ["case", "whitespace"]),
        normalizeForToken(b, ["case", "whitespace"]),
      ];
      expect(image.get(ka) ?? kb).toBe(kb);
      expect(preimage.get(kb) ?? ka).toBe(ka);
      image.set(ka, kb);
      preimage.set(kb, ka);
    }
    expect(image.size).toBeGreaterThan(50);
  });

  it("keeps every column without a rule or detector as it is", () => {
    for (const column of ["id", "sex", "state"]) {
      for (const [a, b] of pairs(w, "patients", column)) expect(b).toBe(a);
    }
    for (const column of ["id", "patient_id", "drug", "dose"])
      for (const [a, b] of pairs(w, "medications", column)) expect(b).toBe(a);
    for (const column of ["id", "patient_id", "department", "diagnosis_code"])
      for (const [a, b] of pairs(w, "encounters", column)) expect(b).toBe(a);
  });

  it("replaces the planted values of the notes by their images, the patient's own ones as in the columns", () => {
    let own = 0;
    for (const span of w.spans) {
      const i = w.a.encounters.findIndex((e) => e.id === span.encounterId);
      const [noteA, noteB] = [w.a.encounters[i]?.notes ?? "", w.b.encounters[i]?.notes ?? ""];
      expect(noteB.length, "images are written as long as the values").toBe(noteA.length);
      const outside = (note: string) =>
        w.spans
          .filter((s) => s.encounterId === span.encounterId)
          .reduce(
            (text, s) => text.slice(0, s.start) + "#".repeat(s.end - s.start) + text.slice(s.end),
            note,
          );
      expect(outside(noteB)).toBe(outside(noteA));
      const inB = noteB.slice(span.start, span.end);
      if (span.kind === "decoy") {
        expect(inB).toBe(span.value);
        continue;
      }
      expect(inB, `${span.kind} ${span.value} is replaced`).not.toBe(span.value);
      const patient = w.a.encounters[i]?.patient_id ?? 0;
      if (span.kind === "ssn" && span.variant === "own-dashed") {
        own++;
        expect(inB).toBe(w.b.patients[patient - 1]?.ssn);
      }
      if (span.kind === "mrn" && span.variant === "own") expect(inB).toBe(w.b.patients[patient - 1]?.mrn);
      if (span.kind === "email" && span.variant === "own") expect(inB).toBe(w.b.patients[patient - 1]?.email);
    }
    expect(own).toBeGreaterThan(5);
    const untouched = w.a.encounters.filter(
      (e) => !w.spans.some((s) => s.encounterId === e.id && s.kind !== "decoy"),
    );
    for (const e of untouched.slice(0, 200)) expect(w.b.encounters[e.id - 1]?.notes).toBe(e.notes);
  });

  it("translates whole protected values of A for lookups, by column and for aliases", () => {
    const patient = w.a.patients[4];
    expect(w.literals.byColumn.get("mrn")?.get(patient?.mrn ?? "")).toBe(w.b.patients[4]?.mrn);
    expect(w.literals.any.get(patient?.ssn ?? "")).toBe(w.b.patients[4]?.ssn);
    expect(w.literals.unprotectedNames.has("department")).toBe(true);
    expect(w.literals.byColumn.has("department")).toBe(false);
  });
});

describe("the worlds follow whatever the policy says", () => {
  it("keeps years of generalized dates and times, redacts the city, and relaxes the discharge check in both worlds", () => {
    const w = worlds(
      variant((d) => {
        Object.assign(d.masking.rules, {
          "public.encounters.admitted_at": { strategy: "generalize", to: "year" },
          "public.encounters.discharged_at": { strategy: "generalize", to: "year" },
          "public.medications.started_at": { strategy: "generalize", to: "month" },
          "public.patients.city": { strategy: "redact" },
        });
      }),
    );
    for (const [a, b] of pairs(w, "encounters", "admitted_at")) {
      expect(b.slice(0, 4)).toBe(a.slice(0, 4));
      expect(b).not.toBe(a);
    }
    for (const [a, b] of pairs(w, "medications", "started_at")) expect(b.slice(0, 7)).toBe(a.slice(0, 7));
    expect(pairs(w, "patients", "city").filter(([a, b]) => a === b)).toEqual([]);
    expect(w.schemaAdjustments).toEqual([
      "ALTER TABLE encounters DROP CONSTRAINT IF EXISTS encounters_discharged_at_check",
      "ALTER TABLE encounters DROP CONSTRAINT IF EXISTS encounters_check",
    ]);
  });

  it("moves bucketed birth years within the over-89 bucket only", () => {
    // Alone in its domain: the demo's other dates keep their years, which would pin the birth years too.
    const w = worlds(
      variant((d) => {
        for (const column of [
          "public.encounters.admitted_at",
          "public.encounters.discharged_at",
          "public.medications.started_at",
        ])
          delete d.masking.rules[column];
      }),
    );
    const cutoff = YEAR - 90;
    const old = pairs(w, "patients", "dob").filter(([a]) => Number(a.slice(0, 4)) <= cutoff);
    expect(old.length).toBeGreaterThan(2);
    for (const [, b] of old) expect(Number(b.slice(0, 4))).toBeLessThanOrEqual(cutoff);
    expect(old.some(([a, b]) => a.slice(0, 4) !== b.slice(0, 4))).toBe(true);
  });

  it("builds identical worlds for a policy without masking", () => {
    const w = worlds(
      variant((d) => {
        d.masking.rules = {};
        d.masking.detectors = { columns: [], kinds: ["ssn"] };
      }),
    );
    expect(w.b).toEqual(w.a);
  });

  it("fails loudly on a strategy, a target or a column it cannot map", () => {
    const demo = parsePolicy(DEMO, "demo");
    const withRule = (key: string, rule: unknown): LoadedPolicy => ({
      ...demo,
      document: {
        ...demo.document,
        masking: {
          ...demo.document.masking,
          rules: { ...demo.document.masking.rules, [key]: rule as ColumnRule },
        },
      },
    });
    expect(() => worlds(withRule("public.patients.ssn", { strategy: "scramble" }))).toThrow(
      /does not know masking strategy scramble/,
    );
    expect(() => worlds(withRule("public.patients.dob", { strategy: "generalize", to: "decade" }))).toThrow(
      /does not know generalize target decade/,
    );
    expect(() => worlds(withRule("public.patients.ssn", { strategy: "generalize", to: "year" }))).toThrow(
      /not supported/,
    );
    expect(() => worlds(withRule("public.patients.id", { strategy: "redact", replacement: "x" }))).toThrow(
      /integer columns/,
    );
    const detector = {
      ...demo,
      document: {
        ...demo.document,
        masking: {
          ...demo.document.masking,
          detectors: { ...demo.document.masking.detectors, columns: ["public.medications.dose"] },
        },
      },
    };
    expect(() => worlds(detector)).toThrow(/manifest/);
  });
});
