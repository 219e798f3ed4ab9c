// The sentences clinical notes are assembled from: digit-free prose, sentences that carry PHI, and decoys.

import { DRUGS } from "./clinical.ts";
import { calendarDate, REFERENCE_DAY } from "./dates.ts";
import { invalidSsnLike } from "./identifiers.ts";
import { list } from "./list.ts";
import type { Prng } from "./prng.ts";

/** Openings; `{}` is the diagnosis description. */
export const OPENINGS = list(`
  Seen for {}., Presents with {}., Evaluation of {}., Follow-up visit for {}., Visit today for {}.`);

/** Openings of admissions; `{}` is the diagnosis description. */
export const ADMISSION_OPENINGS = list(
  "Admitted for {}., Admitted overnight with {}., Inpatient stay for {}.",
);

/** Findings and history: prose with no digits, no names and no identifiers. */
export const FINDINGS = [
  "No acute distress.",
  "Vitals within normal limits.",
  "Lungs clear to auscultation bilaterally.",
  "Reports adherence to current medications.",
  "Denies fever, chills or night sweats.",
  "Tolerating diet and ambulating without assistance.",
  "Family at bedside; questions answered.",
  "Pain controlled with current regimen.",
  "Mild tenderness on palpation.",
  "Reports poor sleep over the past weeks.",
  'Patient states "it feels like pressure" when climbing stairs.',
  "Skin warm and dry; no rash.",
  "Gait steady; strength symmetric.",
  "Mood and affect appropriate.",
  "Patient's spouse participated by phone.",
  "Interpreter used for the visit.",
  "Counseled on diet, exercise and smoking cessation.",
  "Wound clean, dry and intact.",
];

/** Closings: the plan. */
export const CLOSINGS = list(`
  Plan: continue current regimen., Plan: follow up with primary care., Return precautions reviewed.,
  Discharged home in stable condition., Referred to social work., Labs ordered; will call with results.,
  Follow up as needed., Medication reconciliation completed.`);

/** Sentences around a planted SSN. */
export const SSN_SENTENCES = list(`
  Patient provided SSN {} for insurance verification., Social security number {} confirmed at registration.,
  SS# {} noted on the intake form., Billing asks that SSN {} be verified.,
  Insurance card lists {} as the subscriber number.`);

/** Sentences around a planted phone number. */
export const PHONE_SENTENCES = list(`
  Call back at {}., Daughter can be reached at {}., Pharmacy called from {} about a refill.,
  Preferred contact number is {}., Left voicemail at {}.`);

/** Sentences around a planted email address. */
export const EMAIL_SENTENCES = list(`
  Patient asked that results be emailed to {}., Portal invitation sent to {}., Caregiver email: {}.,
  Contact {} with questions.`);

/** Sentences around a planted MRN. */
export const MRN_SENTENCES = list(`
  Prior records filed under {}., Duplicate chart {} merged into this one., See {} for previous imaging.,
  Outside records reference {}.`);

/** Sentences around the patient's planted date of birth. */
export const DOB_SENTENCES = list("Date of birth confirmed as {}., DOB {} verified with photo ID.");

/** Sentences around another planted date. */
export const EVENT_DATE_SENTENCES = list(`
  Symptoms began on {}., Last colonoscopy on {}., Follow-up scheduled for {}., Previous admission on {}.`);

/** A decoy: a number-bearing phrase that is not PHI, with the sentences it may appear in. */
interface DecoyKind {
  readonly variant: string;
  readonly sentences: readonly string[];
  /** Draws the value for an encounter with `diagnosisCode`, of a patient born on day `dobDay`. */
  readonly value: (rng: Prng, diagnosisCode: string, dobDay: number) => string;
}

function tenths(rng: Prng, min: number, max: number): string {
  return (rng.int(min, max) / 10).toFixed(1);
}

function digits(rng: Prng, width: number): string {
  return String(rng.int(1, 10 ** width - 1)).padStart(width, "0");
}

/** The decoy kinds; every digit a decoy puts into a note is inside its value. */
export const DECOYS: readonly DecoyKind[] = [
  {
    variant: "lab",
    sentences: list("Labs notable for {}., Recent {}., Repeat labs show {}."),
    value: (rng) =>
      rng.pick([
        () => `HbA1c ${tenths(rng, 50, 110)}%`,
        () => `potassium ${tenths(rng, 32, 55)} mmol/L`,
        () => `creatinine ${tenths(rng, 6, 25)} mg/dL`,
        () => `hemoglobin ${tenths(rng, 90, 170)} g/dL`,
        () => `glucose ${rng.int(70, 320)} mg/dL`,
        () => `LDL ${rng.int(60, 190)} mg/dL`,
      ])(),
  },
  {
    variant: "vital",
    sentences: list("Vitals: {}., On arrival {}."),
    value: (rng) =>
      rng.pick([
        () => `BP ${rng.int(98, 172)}/${rng.int(58, 104)}`,
        () => `HR ${rng.int(52, 118)} bpm`,
        () => `temp ${tenths(rng, 970, 1022)} F`,
        () => `SpO2 ${rng.int(88, 100)}%`,
        () => `weight ${rng.int(40, 140)} kg`,
        () => `pain ${rng.int(0, 10)}/10`,
      ])(),
  },
  {
    variant: "dose",
    sentences: list("Continue {}., Started {}., Discontinued {}."),
    value: (rng) => {
      const [drug, doses] = rng.pick(DRUGS);
      return `${drug} ${rng.pick(doses)}`;
    },
  },
  { variant: "icd", sentences: list("Coded as {}., Billing code {} reviewed."), value: (_rng, code) => code },
  {
    variant: "invalid-ssn",
    sentences: list("Device catalog number {} recorded., Vaccine lot {} documented., Kit reference {} used."),
    value: (rng) => invalidSsnLike(rng),
  },
  {
    variant: "ndc",
    sentences: list("Dispensed NDC {}., Pharmacy substituted NDC {}."),
    value: (rng) => `${digits(rng, 5)}-${digits(rng, 4)}-${digits(rng, 2)}`,
  },
  {
    variant: "year",
    sentences: list(
      "History of appendectomy in {}., Family moved to the area in {}., Last tetanus booster in {}.",
    ),
    value: (rng, _code, dobDay) => {
      const last = calendarDate(REFERENCE_DAY).year - 1;
      return String(rng.int(Math.min(last, Math.max(1990, calendarDate(dobDay).year)), last));
    },
  },
  {
    variant: "duration",
    sentences: list("Symptoms for {}., Cough for {}."),
    value: (rng) => (rng.chance(0.5) ? `${rng.int(2, 14)} days` : `${rng.int(2, 8)} weeks`),
  },
];
