// The planted-PHI manifest is exact and complete: every plant and decoy sits at [start, end), nothing else hides.

import { beforeAll, describe, expect, it } from "vitest";
import type { EncounterRow } from "#tools/ehr/encounters.ts";
import { generateAnnotatedEncounters, generateNoteSpans, generatePatients } from "#tools/ehr/generate.ts";
import { isValidSsn } from "#tools/ehr/identifiers.ts";
import type { NoteSpan } from "#tools/ehr/notes.ts";
import type { PatientRow } from "#tools/ehr/patients.ts";

const encounters: EncounterRow[] = [];
const spans: NoteSpan[] = [];
let patients: PatientRow[] = [];
const spansOf = new Map<number, NoteSpan[]>();

beforeAll(() => {
  patients = [...generatePatients()].flat();
  for (const batch of generateAnnotatedEncounters()) {
    const ids = new Set(batch.rows.map((row) => row.id));
    expect(batch.spans.every((span) => ids.has(span.encounterId))).toBe(true);
    encounters.push(...batch.rows);
    spans.push(...batch.spans);
  }
  for (const span of spans) spansOf.set(span.encounterId, [...(spansOf.get(span.encounterId) ?? []), span]);
});

function wholeWord(text: string, word: string): boolean {
  let at = text.indexOf(word);
  while (at !== -1) {
    const before = text.charAt(at - 1);
    const after = text.charAt(at + word.length);
    if (!/[A-Za-z]/.test(before) && !/[A-Za-z]/.test(after)) return true;
    at = text.indexOf(word, at + 1);
  }
  return false;
}

const plants = () => spans.filter((span) => span.kind !== "decoy");
const decoys = () => spans.filter((span) => span.kind === "decoy");

describe("the manifest", () => {
  it("places every value at exactly [start, end) of its note, in order, without overlaps", () => {
    const notes = new Map(encounters.map((e) => [e.id, e.notes]));
    const misplaced: NoteSpan[] = [];
    for (const [id, list] of spansOf) {
      const note = notes.get(id) ?? "";
      let previousEnd = 0;
      for (const span of list) {
        if (note.slice(span.start, span.end) !== span.value || span.start < previousEnd) misplaced.push(span);
        previousEnd = span.end;
      }
    }
    expect(misplaced).toEqual([]);
    expect(spans.length).toBeGreaterThan(20_000);
  });

  it("is what generateNoteSpans yields", () => {
    expect([...generateNoteSpans()]).toEqual(spans);
  });

  it("plants PHI in 10-20 % of notes, of every kind and written form", () => {
    const withNotes = encounters.filter((e) => e.notes !== null).length;
    const planted = new Set(plants().map((span) => span.encounterId)).size;
    expect(planted / withNotes).toBeGreaterThan(0.1);
    expect(planted / withNotes).toBeLessThan(0.2);
    const variants = new Set(plants().map((span) => `${span.kind}:${span.variant}`));
    for (const variant of [
      "ssn:own-dashed",
      "ssn:own-spaced",
      "ssn:own-compact",
      "ssn:other-dashed",
      "phone:own-paren",
      "phone:own-dots",
      "phone:own-intl",
      "phone:other-dashed",
      "email:own",
      "email:other",
      "mrn:own",
      "mrn:other",
      "date:dob-us",
      "date:dob-iso",
      "date:dob-long",
      "date:event-us",
      "date:event-iso",
      "date:event-long",
    ]) {
      expect(variants, variant).toContain(variant);
    }
  });

  it("plants values of the right format, the patient's own when marked own", () => {
    const patientOf = new Map(encounters.map((e) => [e.id, patients[e.patient_id - 1]]));
    const phoneForm = /^(\d{3}-555-01\d\d|\(\d{3}\) 555-01\d\d|\d{3}\.555\.01\d\d|\+1 \d{3} 555 01\d\d)$/;
    const dateForm = /^(\d\d\/\d\d\/\d{4}|\d{4}-\d\d-\d\d|[A-Z][a-z]+ \d{1,2}, \d{4})$/;
    const wrong = plants().filter((span) => {
      const patient = patientOf.get(span.encounterId);
      const own = span.variant.startsWith("own");
      switch (span.kind) {
        case "ssn": {
          const digits = span.value.replace(/[ -]/g, "");
          const valid =
            /^\d{9}$/.test(digits) &&
            isValidSsn(`${digits.slice(0, 3)}-${digits.slice(3, 5)}-${digits.slice(5)}`);
          return !valid || (own && digits !== patient?.ssn.replaceAll("-", ""));
        }
        case "phone": {
          const digits = span.value.replace(/\D/g, "").slice(-10);
          return !phoneForm.test(span.value) || (own && digits !== patient?.phone?.replace(/\D/g, ""));
        }
        case "email":
          return (
            !/^[a-z.]+\d*@example\.(com|org|net)$/.test(span.value) || (own && span.value !== patient?.email)
          );
        case "mrn":
          return !/^MRN-\d{7}$/.test(span.value) || (own && span.value !== patient?.mrn);
        case "date":
          return !dateForm.test(span.value) || (span.variant === "dob-iso" && span.value !== patient?.dob);
        default:
          return true;
      }
    });
    expect(wrong).toEqual([]);
  });

  it("marks decoys of every kind, none of which is PHI-shaped", () => {
    const variants = new Set(decoys().map((span) => span.variant));
    expect(variants).toEqual(
      new Set(["lab", "vital", "dose", "icd", "invalid-ssn", "ndc", "year", "duration"]),
    );
    const phiShaped = decoys().filter(
      (span) =>
        /@|MRN-|555[-. ]01\d\d/.test(span.value) ||
        (span.variant === "invalid-ssn" &&
          (!/^\d{3}-\d{2}-\d{4}$/.test(span.value) || isValidSsn(span.value))),
    );
    expect(phiShaped).toEqual([]);
    const decoyOnly = encounters.filter((e) => spansOf.get(e.id)?.every((span) => span.kind === "decoy"));
    expect(decoyOnly.length).toBeGreaterThan(1_000);
  });
});

describe("notes", () => {
  it("are ASCII, and every digit and '@' in them lies inside a manifest entry", () => {
    const unlisted: string[] = [];
    for (const e of encounters) {
      if (e.notes === null) continue;
      if (!/^[\x20-\x7e]+$/.test(e.notes)) unlisted.push(`encounter ${e.id}: non-ASCII note`);
      const covered = new Uint8Array(e.notes.length);
      for (const span of spansOf.get(e.id) ?? []) covered.fill(1, span.start, span.end);
      for (let i = 0; i < e.notes.length; i++) {
        if (/[\d@]/.test(e.notes.charAt(i)) && covered[i] === 0)
          unlisted.push(`encounter ${e.id} at ${i}: ${e.notes}`);
      }
    }
    expect(unlisted).toEqual([]);
  });

  it("never name their patient", () => {
    const named = encounters.filter((e) => {
      const patient = patients[e.patient_id - 1];
      if (e.notes === null || patient === undefined) return false;
      return [patient.first_name, patient.last_name].some((name) => wholeWord(e.notes ?? "", name));
    });
    expect(named.map((e) => e.id)).toEqual([]);
  });
});
