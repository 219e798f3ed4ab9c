// Generates one patient's encounters (visits and admissions, with notes) from (seed, patient) alone.

import type { PatientShare } from "./allocation.ts";
import { DEPARTMENTS, type Department } from "./clinical.ts";
import { DAY_MS, dayNumber, isoTimestamp, REFERENCE_DAY } from "./dates.ts";
import { type NoteSpan, writeNote } from "./notes.ts";
import type { Patient } from "./patients.ts";
import { Prng, WeightedTable } from "./prng.ts";
import { Stream } from "./streams.ts";

/** A row of `encounters`, keyed by column name. */
export interface EncounterRow {
  readonly id: number;
  readonly patient_id: number;
  /** ISO 8601 UTC, `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly admitted_at: string;
  /** ISO 8601 UTC, not before `admitted_at`; null while the patient is still admitted. */
  readonly discharged_at: string | null;
  readonly department: string;
  readonly diagnosis_code: string;
  readonly notes: string | null;
}

/** One patient's encounters and the manifest entries of their notes. */
export interface PatientEncounters {
  readonly rows: EncounterRow[];
  readonly spans: NoteSpan[];
}

/** Encounters are dated from this day up to the reference day. */
export const FIRST_ENCOUNTER_DAY = dayNumber(2015, 1, 1);
const YEAR_DAYS = 365.2425;

function table(keep: (department: Department) => boolean): WeightedTable<Department> {
  return new WeightedTable(DEPARTMENTS.filter(([department]) => keep(department)));
}
const CHILD_DEPARTMENTS = table((d) => d.ages !== "adult");
const ADULT_DEPARTMENTS = table((d) => d.ages !== "child" && d.name !== "Obstetrics");
const ADULT_F_DEPARTMENTS = table((d) => d.ages !== "child");

function department(rng: Prng, patient: Patient, day: number): Department {
  const age = (day - patient.dobDay) / YEAR_DAYS;
  if (age < 18) return CHILD_DEPARTMENTS.pick(rng);
  if (patient.row.sex === "F" && age < 46) return ADULT_F_DEPARTMENTS.pick(rng);
  return ADULT_DEPARTMENTS.pick(rng);
}

function stayMinutes(rng: Prng, dept: Department, inpatient: boolean): number {
  if (inpatient) return rng.int(1, 10) * 1440 + rng.int(0, 600);
  return dept.name === "Emergency" ? rng.int(90, 720) : rng.int(15, 90);
}

/** The encounters of `patient`: `share.count` rows with ids from `share.firstId`, in admission order. */
export function encountersFor(seed: number, patient: Patient, share: PatientShare): PatientEncounters {
  const rng = new Prng(seed, Stream.encounters, patient.index);
  const firstDay = Math.max(FIRST_ENCOUNTER_DAY, patient.dobDay);
  const days: number[] = [];
  for (let i = 0; i < share.count; i++) days.push(rng.int(firstDay, REFERENCE_DAY - 1));
  days.sort((a, b) => a - b);
  const rows: EncounterRow[] = [];
  const spans: NoteSpan[] = [];
  days.forEach((day, i) => {
    const id = share.firstId + i;
    const dept = department(rng, patient, day);
    const diagnosis = rng.pick(dept.diagnoses);
    const inpatient = rng.chance(dept.inpatientChance);
    const admittedMs = day * DAY_MS + rng.int(0, 1439) * 60_000;
    const dischargedMs = admittedMs + stayMinutes(rng, dept, inpatient) * 60_000;
    const stillAdmitted = inpatient && day >= REFERENCE_DAY - 10 && rng.chance(0.5);
    let notes: string | null = null;
    if (rng.chance(0.96)) {
      const note = writeNote(rng, { encounterId: id, patient, diagnosis, admittedDay: day, inpatient });
      notes = note.text;
      spans.push(...note.spans);
    }
    rows.push({
      id,
      patient_id: patient.row.id,
      admitted_at: isoTimestamp(admittedMs),
      discharged_at: stillAdmitted ? null : isoTimestamp(dischargedMs),
      department: dept.name,
      diagnosis_code: diagnosis[0],
      notes,
    });
  });
  return { rows, spans };
}
