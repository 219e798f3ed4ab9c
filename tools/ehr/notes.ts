// Writes an encounter's clinical note and records where each planted PHI string and each decoy sits in it.

import type { Diagnosis } from "./clinical.ts";
import { calendarDate, isoDate } from "./dates.ts";
import { emailFor, fictionalPhone, formatPhone, type PhoneStyle, randomSsn } from "./identifiers.ts";
import { LAST_NAMES, NEUTRAL_FIRST_NAMES } from "./names.ts";
import {
  ADMISSION_OPENINGS,
  CLOSINGS,
  DECOYS,
  DOB_SENTENCES,
  EMAIL_SENTENCES,
  EVENT_DATE_SENTENCES,
  FINDINGS,
  MRN_SENTENCES,
  OPENINGS,
  PHONE_SENTENCES,
  SSN_SENTENCES,
} from "./note-phrases.ts";
import type { Patient } from "./patients.ts";
import { type Prng, WeightedTable } from "./prng.ts";

/** The kinds of PHI planted in notes. */
export type PlantKind = "ssn" | "phone" | "email" | "mrn" | "date";

/** What a manifest entry marks: planted PHI, or a decoy that looks like data but is not PHI. */
export type NoteSpanKind = PlantKind | "decoy";

/**
 * One entry of the planted-PHI manifest: `value` is exactly `notes.slice(start, end)` of encounter `encounterId`
 * (offsets in UTF-16 code units; notes are ASCII, so they are also byte and character offsets).
 */
export interface NoteSpan {
  readonly encounterId: number;
  readonly kind: NoteSpanKind;
  readonly value: string;
  readonly start: number;
  readonly end: number;
  /**
   * How the value was made: for plants `own-…`/`other-…` (the patient's own identifier or someone else's) and
   * the written form (`ssn`: dashed, spaced, compact; `phone`: dashed, paren, dots, intl; `date`: `dob-`/`event-`
   * with us, iso, long); for decoys lab, vital, dose, icd, invalid-ssn, ndc, year or duration.
   */
  readonly variant: string;
}

/** What a note is written about. */
export interface NoteContext {
  readonly encounterId: number;
  readonly patient: Patient;
  readonly diagnosis: Diagnosis;
  readonly admittedDay: number;
  readonly inpatient: boolean;
}

/** A note's text and its manifest entries, in order of position. */
export interface WrittenNote {
  readonly text: string;
  readonly spans: readonly NoteSpan[];
}

/** Share of notes that carry at least one planted PHI string. */
export const PLANT_CHANCE = 0.15;
const SECOND_PLANT_CHANCE = 0.2;
const DECOY_CHANCE = 0.3;
const SECOND_DECOY_CHANCE = 0.25;

interface Slot {
  readonly kind: NoteSpanKind;
  readonly value: string;
  readonly variant: string;
}

interface Sentence {
  readonly template: string;
  readonly slot?: Slot;
}

const PLANT_KINDS = new WeightedTable<PlantKind>([
  ["ssn", 25],
  ["phone", 25],
  ["email", 20],
  ["mrn", 15],
  ["date", 15],
]);
const PHONE_STYLES: readonly PhoneStyle[] = ["dashed", "paren", "dots", "intl"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

function pad2(value: number): string {
  return String(value).padStart(2, "0");
}

function writtenDate(rng: Prng, day: number): { value: string; style: string } {
  const { year, month, day: dayOfMonth } = calendarDate(day);
  const style = rng.pick(["us", "iso", "long"]);
  if (style === "us") return { value: `${pad2(month)}/${pad2(dayOfMonth)}/${year}`, style };
  if (style === "iso") return { value: isoDate(day), style };
  return { value: `${MONTHS[month - 1] ?? ""} ${dayOfMonth}, ${year}`, style };
}

function plant(rng: Prng, kind: PlantKind, context: NoteContext): Sentence {
  const { patient } = context;
  switch (kind) {
    case "ssn": {
      const own = rng.chance(0.6);
      const ssn = own ? patient.row.ssn : randomSsn(rng);
      const style = rng.pick(["dashed", "dashed", "spaced", "compact"]);
      const value = style === "dashed" ? ssn : ssn.replaceAll("-", style === "spaced" ? " " : "");
      return {
        template: rng.pick(SSN_SENTENCES),
        slot: { kind, value, variant: `${own ? "own" : "other"}-${style}` },
      };
    }
    case "phone": {
      const own = patient.phone !== null && rng.chance(0.6);
      const phone =
        own && patient.phone ? patient.phone : fictionalPhone(rng, rng.pick(patient.city.areaCodes));
      const style = rng.pick(PHONE_STYLES);
      const slot = { kind, value: formatPhone(phone, style), variant: `${own ? "own" : "other"}-${style}` };
      return { template: rng.pick(PHONE_SENTENCES), slot };
    }
    case "email": {
      const own = patient.row.email !== null && rng.chance(0.6);
      const value =
        own && patient.row.email
          ? patient.row.email
          : emailFor(rng, rng.pick(NEUTRAL_FIRST_NAMES), rng.pick(LAST_NAMES));
      return { template: rng.pick(EMAIL_SENTENCES), slot: { kind, value, variant: own ? "own" : "other" } };
    }
    case "mrn": {
      const own = rng.chance(0.85);
      const value = own ? patient.row.mrn : `MRN-${String(rng.int(0, 9_999_999)).padStart(7, "0")}`;
      return { template: rng.pick(MRN_SENTENCES), slot: { kind, value, variant: own ? "own" : "other" } };
    }
    case "date": {
      const dob = rng.chance(0.4);
      const day = dob ? patient.dobDay : Math.max(patient.dobDay, context.admittedDay + rng.int(-400, 60));
      const { value, style } = writtenDate(rng, day);
      const template = rng.pick(dob ? DOB_SENTENCES : EVENT_DATE_SENTENCES);
      return { template, slot: { kind, value, variant: `${dob ? "dob" : "event"}-${style}` } };
    }
  }
}

function decoy(rng: Prng, context: NoteContext): Sentence {
  const kind = rng.pick(DECOYS);
  const value = kind.value(rng, context.diagnosis[0], context.patient.dobDay);
  return { template: rng.pick(kind.sentences), slot: { kind: "decoy", value, variant: kind.variant } };
}

function middleSentences(rng: Prng, context: NoteContext): Sentence[] {
  const sentences: Sentence[] = [];
  const findings = rng.int(0, 2);
  const firstFinding = rng.int(0, FINDINGS.length - 1);
  if (findings >= 1) sentences.push({ template: FINDINGS[firstFinding] ?? "" });
  if (findings === 2) {
    sentences.push({
      template: FINDINGS[(firstFinding + rng.int(1, FINDINGS.length - 1)) % FINDINGS.length] ?? "",
    });
  }
  if (rng.chance(DECOY_CHANCE)) {
    sentences.push(decoy(rng, context));
    if (rng.chance(SECOND_DECOY_CHANCE)) sentences.push(decoy(rng, context));
  }
  if (rng.chance(PLANT_CHANCE)) {
    const first = PLANT_KINDS.pick(rng);
    sentences.push(plant(rng, first, context));
    if (rng.chance(SECOND_PLANT_CHANCE)) {
      const second = PLANT_KINDS.pick(rng);
      if (second !== first) sentences.push(plant(rng, second, context));
    }
  }
  for (let i = sentences.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [sentences[i], sentences[j]] = [sentences[j] as Sentence, sentences[i] as Sentence];
  }
  return sentences;
}

/** Writes the note of one encounter: an opening, findings, maybe decoys and planted PHI, and a plan. */
export function writeNote(rng: Prng, context: NoteContext): WrittenNote {
  const opening = rng
    .pick(context.inpatient ? ADMISSION_OPENINGS : OPENINGS)
    .replace("{}", context.diagnosis[1]);
  const sentences = [
    { template: opening },
    ...middleSentences(rng, context),
    { template: rng.pick(CLOSINGS) },
  ];
  let text = "";
  const spans: NoteSpan[] = [];
  for (const { template, slot } of sentences) {
    if (text.length > 0) text += " ";
    if (slot === undefined) {
      text += template;
      continue;
    }
    const at = template.indexOf("{}");
    text += template.slice(0, at);
    spans.push({
      encounterId: context.encounterId,
      ...slot,
      start: text.length,
      end: text.length + slot.value.length,
    });
    text += slot.value + template.slice(at + 2);
  }
  return { text, spans };
}
