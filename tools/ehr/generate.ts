// The synthetic EHR generator: deterministic, streaming batches of patients, encounters and medications.

import { allocate, encounterWeight, medicationWeight } from "./allocation.ts";
import { type EncounterRow, encountersFor } from "./encounters.ts";
import { type MedicationRow, medicationsFor } from "./medications.ts";
import type { NoteSpan } from "./notes.ts";
import { type EhrOptions, resolveEhrOptions } from "./options.ts";
import { type PatientRow, patientAt } from "./patients.ts";

/** A batch of rows of one table; `generateEhr` yields every patient batch, then encounters, then medications. */
export type EhrBatch =
  | { readonly table: "patients"; readonly rows: PatientRow[] }
  | { readonly table: "encounters"; readonly rows: EncounterRow[] }
  | { readonly table: "medications"; readonly rows: MedicationRow[] };

/** A batch of encounters with the manifest entries (planted PHI and decoys) of their notes. */
export interface AnnotatedEncounterBatch {
  readonly rows: EncounterRow[];
  readonly spans: NoteSpan[];
}

/** Every batch holds exactly `batchSize` rows except the last; batching never changes the rows. */
export function* generatePatients(options: EhrOptions = {}): Generator<PatientRow[]> {
  const { seed, patients, batchSize } = resolveEhrOptions(options);
  let batch: PatientRow[] = [];
  for (let index = 0; index < patients; index++) {
    batch.push(patientAt(seed, index).row);
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Encounters in id order (grouped by patient, each patient's in admission order), with their notes' manifest. */
export function* generateAnnotatedEncounters(options: EhrOptions = {}): Generator<AnnotatedEncounterBatch> {
  const { seed, patients, encounters, batchSize } = resolveEhrOptions(options);
  let rows: EncounterRow[] = [];
  let spans: NoteSpan[] = [];
  for (const share of allocate(patients, encounters, (index) => encounterWeight(seed, index))) {
    if (share.count === 0) continue;
    const generated = encountersFor(seed, patientAt(seed, share.index), share);
    rows.push(...generated.rows);
    spans.push(...generated.spans);
    while (rows.length >= batchSize) {
      const batchRows = rows.slice(0, batchSize);
      const lastId = batchRows[batchRows.length - 1]?.id ?? 0;
      const cut = spans.findIndex((span) => span.encounterId > lastId);
      const split = cut === -1 ? spans.length : cut;
      yield { rows: batchRows, spans: spans.slice(0, split) };
      rows = rows.slice(batchSize);
      spans = spans.slice(split);
    }
  }
  if (rows.length > 0) yield { rows, spans };
}

/** Encounters in id order, in batches of `batchSize`. */
export function* generateEncounters(options: EhrOptions = {}): Generator<EncounterRow[]> {
  for (const batch of generateAnnotatedEncounters(options)) yield batch.rows;
}

/** The planted-PHI manifest (plants and decoys) of every note, in encounter id then position order. */
export function* generateNoteSpans(options: EhrOptions = {}): Generator<NoteSpan> {
  for (const batch of generateAnnotatedEncounters(options)) yield* batch.spans;
}

/** Medications in id order (grouped by patient, each patient's in start order), in batches of `batchSize`. */
export function* generateMedications(options: EhrOptions = {}): Generator<MedicationRow[]> {
  const { seed, patients, medications, batchSize } = resolveEhrOptions(options);
  let rows: MedicationRow[] = [];
  for (const share of allocate(patients, medications, (index) => medicationWeight(seed, index))) {
    if (share.count === 0) continue;
    rows.push(...medicationsFor(seed, patientAt(seed, share.index), share));
    while (rows.length >= batchSize) {
      yield rows.slice(0, batchSize);
      rows = rows.slice(batchSize);
    }
  }
  if (rows.length > 0) yield rows;
}

/** The whole dataset as batches in dependency order: patients, then encounters, then medications. */
export function* generateEhr(options: EhrOptions = {}): Generator<EhrBatch> {
  for (const rows of generatePatients(options)) yield { table: "patients", rows };
  for (const rows of generateEncounters(options)) yield { table: "encounters", rows };
  for (const rows of generateMedications(options)) yield { table: "medications", rows };
}
