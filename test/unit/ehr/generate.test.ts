// The generated dataset meets the contract: sizes, identifier formats, reserved domains, Safe Harbor edge cases.

import { beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError } from "#shared/errors.ts";
import { allocate, encounterWeight } from "#tools/ehr/allocation.ts";
import { DEPARTMENTS } from "#tools/ehr/clinical.ts";
import type { EncounterRow } from "#tools/ehr/encounters.ts";
import { generateEncounters, generateMedications, generatePatients } from "#tools/ehr/generate.ts";
import { EMAIL_DOMAINS, isValidSsn } from "#tools/ehr/identifiers.ts";
import type { MedicationRow } from "#tools/ehr/medications.ts";
import { ehrSizes, resolveEhrOptions } from "#tools/ehr/options.ts";
import type { PatientRow } from "#tools/ehr/patients.ts";
import { CITIES, RESTRICTED_ZIP3 } from "#tools/ehr/places.ts";

let patients: PatientRow[] = [];
let encounters: EncounterRow[] = [];
let medications: MedicationRow[] = [];

beforeAll(() => {
  patients = [...generatePatients()].flat();
  encounters = [...generateEncounters()].flat();
  medications = [...generateMedications()].flat();
});

function ages(dob: string, asOf: string): number {
  const [by = 0, bm = 0, bd = 0] = dob.split("-").map(Number);
  const [y = 0, m = 0, d = 0] = asOf.split("-").map(Number);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

describe("sizes", () => {
  it("defaults meet the contract minima and are exact", () => {
    const sizes = ehrSizes();
    expect(sizes).toEqual({ patients: 10_000, encounters: 60_000, medications: 30_000 });
    expect(sizes.patients).toBeGreaterThanOrEqual(10_000);
    expect(sizes.encounters).toBeGreaterThanOrEqual(50_000);
    expect(patients).toHaveLength(sizes.patients);
    expect(encounters).toHaveLength(sizes.encounters);
    expect(medications).toHaveLength(sizes.medications);
  });

  it("numbers every table's ids 1…n in order", () => {
    for (const rows of [patients, encounters, medications]) {
      expect(rows.every((row, i) => row.id === i + 1)).toBe(true);
    }
  });

  it.each([
    { patients: 1, encounters: 0, medications: 0 },
    { patients: 7, encounters: 3, medications: 1 },
    { patients: 500, encounters: 12_345, medications: 999 },
  ])("produces exactly the requested totals for %o", (options) => {
    const count = (batches: Iterable<unknown[]>) =>
      [...batches].reduce((sum, batch) => sum + batch.length, 0);
    expect(count(generatePatients(options))).toBe(options.patients);
    expect(count(generateEncounters(options))).toBe(options.encounters);
    expect(count(generateMedications(options))).toBe(options.medications);
  });

  it("spreads encounters unevenly but exactly (allocation is a pure function of the options)", () => {
    const shares = [...allocate(1_000, 6_000, (index) => encounterWeight(7, index))];
    expect(shares.reduce((sum, share) => sum + share.count, 0)).toBe(6_000);
    const counts = shares.map((share) => share.count);
    expect(Math.max(...counts)).toBeGreaterThan(20);
    expect(Math.min(...counts)).toBeLessThanOrEqual(1);
    expect([...allocate(1_000, 6_000, (index) => encounterWeight(7, index))]).toEqual(shares);
  });

  it("yields full batches of batchSize and a last partial one", () => {
    const sizes = [...generateEncounters({ patients: 100, encounters: 1_050, batchSize: 100 })].map(
      (b) => b.length,
    );
    expect(sizes).toEqual([...Array(10).fill(100), 50]);
  });

  it("rejects options out of range with a ConfigurationError", () => {
    expect(() => resolveEhrOptions({ patients: 0 })).toThrow(ConfigurationError);
    expect(() => resolveEhrOptions({ patients: 10_000_000 })).toThrow(ConfigurationError);
    expect(() => resolveEhrOptions({ seed: -1 })).toThrow(ConfigurationError);
    expect(() => resolveEhrOptions({ encounters: 1.5 })).toThrow(ConfigurationError);
    expect(() => resolveEhrOptions({ batchSize: 0 })).toThrow(ConfigurationError);
  });
});

describe("patients", () => {
  it("have valid-format, distinct SSNs", () => {
    expect(patients.every((p) => isValidSsn(p.ssn))).toBe(true);
    expect(new Set(patients.map((p) => p.ssn)).size).toBe(patients.length);
  });

  it("have distinct, well-formed MRNs", () => {
    expect(patients.every((p) => /^MRN-\d{7}$/.test(p.mrn))).toBe(true);
    expect(new Set(patients.map((p) => p.mrn)).size).toBe(patients.length);
  });

  it("have emails only at reserved domains, and phones only in 555-0100…0199", () => {
    const emails = patients.flatMap((p) => (p.email === null ? [] : [p.email]));
    expect(emails.length).toBeGreaterThan(patients.length / 2);
    expect(emails.every((e) => /^[a-z.]+\d*@example\.(com|org|net)$/.test(e))).toBe(true);
    expect(new Set(emails.map((e) => e.split("@")[1]))).toEqual(new Set(EMAIL_DOMAINS));
    const phones = patients.flatMap((p) => (p.phone === null ? [] : [p.phone]));
    expect(phones.length).toBeGreaterThan(patients.length * 0.8);
    expect(phones.every((phone) => /^[2-9]\d\d-555-01\d\d$/.test(phone))).toBe(true);
  });

  it("live at addresses whose state, ZIP prefix and area code agree with the city", () => {
    const cities = new Map(CITIES.map(([city]) => [`${city.city}|${city.state}|${city.zip3}`, city]));
    const mismatched = patients.filter((p) => {
      const city = cities.get(`${p.city}|${p.state}|${p.zip.slice(0, 3)}`);
      const phoneAgrees = p.phone === null || city?.areaCodes.includes(p.phone.slice(0, 3));
      return city === undefined || !/^\d{5}$/.test(p.zip) || !phoneAgrees;
    });
    expect(mismatched).toEqual([]);
  });

  it("include ZIPs in many HIPAA-restricted 3-digit prefixes", () => {
    const restricted = patients.filter((p) => RESTRICTED_ZIP3.includes(p.zip.slice(0, 3)));
    expect(restricted.length).toBeGreaterThan(50);
    expect(new Set(restricted.map((p) => p.zip.slice(0, 3))).size).toBeGreaterThanOrEqual(12);
  });

  it("span ages from newborns to over 89, and every sex code", () => {
    const all = patients.map((p) => ages(p.dob, "2025-01-01"));
    expect(Math.min(...all)).toBe(0);
    expect(all.filter((age) => age > 89).length).toBeGreaterThan(100);
    expect(Math.max(...all)).toBeLessThan(110);
    const today = new Date().toISOString().slice(0, 10);
    expect(patients.some((p) => ages(p.dob, today) > 89)).toBe(true);
    expect(new Set(patients.map((p) => p.sex))).toEqual(new Set(["F", "M", "X"]));
  });
});

describe("encounters and medications", () => {
  it("belong to existing patients and are dated after birth", () => {
    const dob = new Map(patients.map((p) => [p.id, p.dob]));
    const badEncounters = encounters.filter((e) => {
      const born = dob.get(e.patient_id);
      const discharged = e.discharged_at === null || e.discharged_at >= e.admitted_at;
      return (
        born === undefined ||
        e.admitted_at.slice(0, 10) < born ||
        e.admitted_at >= "2025-01-01" ||
        !discharged
      );
    });
    expect(badEncounters).toEqual([]);
    const badMedications = medications.filter((m) => m.started_at < (dob.get(m.patient_id) ?? "9999"));
    expect(badMedications).toEqual([]);
  });

  it("use the built-in departments and their diagnosis codes", () => {
    const codes = new Map(DEPARTMENTS.map(([d]) => [d.name, new Set(d.diagnoses.map(([code]) => code))]));
    expect(encounters.filter((e) => !codes.get(e.department)?.has(e.diagnosis_code))).toEqual([]);
    expect(new Set(encounters.map((e) => e.department)).size).toBe(DEPARTMENTS.length);
    expect(encounters.some((e) => e.discharged_at === null)).toBe(true);
    expect(encounters.some((e) => e.notes === null)).toBe(true);
  });
});
