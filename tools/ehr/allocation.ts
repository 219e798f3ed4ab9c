// Spreads an exact row total over patients in proportion to deterministic, skewed per-patient weights.

import { hash32, WeightedTable } from "./prng.ts";
import { Stream } from "./streams.ts";

/** The rows of one table that belong to one patient: ids `firstId … firstId + count - 1`. */
export interface PatientShare {
  /** 0-based patient index (the patient's id is `index + 1`). */
  readonly index: number;
  readonly firstId: number;
  readonly count: number;
}

const ENCOUNTER_WEIGHTS = new WeightedTable<number>([
  [1, 30],
  [2, 25],
  [3, 15],
  [5, 12],
  [8, 10],
  [13, 5],
  [30, 3],
]);

const MEDICATION_FACTORS = new WeightedTable<number>([
  [0, 15],
  [1, 45],
  [2, 30],
  [3, 10],
]);

/** The relative encounter load of a patient (heavy-tailed: a few patients have many visits). */
export function encounterWeight(seed: number, index: number): number {
  return ENCOUNTER_WEIGHTS.at(hash32(seed, Stream.encounterWeight, index) % ENCOUNTER_WEIGHTS.total);
}

/** The relative medication load of a patient: correlated with encounters, zero for some patients. */
export function medicationWeight(seed: number, index: number): number {
  const factor = MEDICATION_FACTORS.at(
    hash32(seed, Stream.medicationWeight, index) % MEDICATION_FACTORS.total,
  );
  return factor * encounterWeight(seed, index);
}

function scaledPrefix(prefix: number, total: number, weightSum: number): number {
  const product = prefix * total;
  if (Number.isSafeInteger(product)) return Math.floor(product / weightSum);
  return Number((BigInt(prefix) * BigInt(total)) / BigInt(weightSum));
}

/**
 * Yields, patient by patient, a share of exactly `total` rows proportional to `weight(index)`, by systematic
 * rounding of the cumulative weight (shares sum to `total`; memory is O(1): the weights are summed in a first pass).
 */
export function* allocate(
  patients: number,
  total: number,
  weight: (index: number) => number,
): Generator<PatientShare> {
  let weightSum = 0;
  for (let index = 0; index < patients; index++) weightSum += weight(index);
  const weightOf = weightSum === 0 ? () => 1 : weight;
  const sum = weightSum === 0 ? patients : weightSum;
  let prefix = 0;
  let assigned = 0;
  for (let index = 0; index < patients; index++) {
    prefix += weightOf(index);
    const upTo = scaledPrefix(prefix, total, sum);
    yield { index, firstId: assigned + 1, count: upTo - assigned };
    assigned = upTo;
  }
}
