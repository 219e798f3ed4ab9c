// Generates one patient's medications from (seed, patient) alone.

import type { PatientShare } from "./allocation.ts";
import { DRUGS, type Drug } from "./clinical.ts";
import { dayNumber, isoDate, REFERENCE_DAY } from "./dates.ts";
import type { Patient } from "./patients.ts";
import { Prng } from "./prng.ts";
import { Stream } from "./streams.ts";

/** A row of `medications`, keyed by column name. */
export interface MedicationRow {
  readonly id: number;
  readonly patient_id: number;
  readonly drug: string;
  readonly dose: string;
  /** `YYYY-MM-DD`. */
  readonly started_at: string;
}

const FIRST_START_DAY = dayNumber(2012, 1, 1);
const PEDIATRIC = new Set([
  "amoxicillin",
  "ibuprofen",
  "acetaminophen",
  "albuterol",
  "fluticasone",
  "cephalexin",
]);
const CHILD_DRUGS = DRUGS.filter(([name]) => PEDIATRIC.has(name));
const ADULT_DRUGS = DRUGS.filter(([name]) => name !== "prenatal multivitamin");
const ADULT_F_DRUGS = DRUGS;

function drugsFor(patient: Patient, day: number): readonly Drug[] {
  const age = (day - patient.dobDay) / 365.2425;
  if (age < 18) return CHILD_DRUGS;
  return patient.row.sex === "F" && age < 46 ? ADULT_F_DRUGS : ADULT_DRUGS;
}

/** The medications of `patient`: `share.count` rows with ids from `share.firstId`, in start order. */
export function medicationsFor(seed: number, patient: Patient, share: PatientShare): MedicationRow[] {
  const rng = new Prng(seed, Stream.medications, patient.index);
  const firstDay = Math.max(FIRST_START_DAY, patient.dobDay);
  const days: number[] = [];
  for (let i = 0; i < share.count; i++) days.push(rng.int(firstDay, REFERENCE_DAY - 1));
  days.sort((a, b) => a - b);
  return days.map((day, i) => {
    const [drug, doses] = rng.pick(drugsFor(patient, day));
    return {
      id: share.firstId + i,
      patient_id: patient.row.id,
      drug,
      dose: rng.pick(doses),
      started_at: isoDate(day),
    };
  });
}
