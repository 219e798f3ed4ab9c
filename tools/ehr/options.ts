// Options of the synthetic EHR generator: seed, table sizes and batch size, with their defaults and limits.

import { ConfigurationError } from "#shared/errors.ts";

/** What a caller may choose about a generated dataset; every field has a default. */
export interface EhrOptions {
  /** 32-bit unsigned seed; the same seed and sizes always produce the same rows. */
  readonly seed?: number;
  /** Number of patients (1 ≤ n ≤ 9,999,999: one distinct 7-digit MRN each). Default 10,000. */
  readonly patients?: number;
  /** Exact number of encounters, spread over patients with a skewed distribution. Default 6 × patients. */
  readonly encounters?: number;
  /** Exact number of medications, spread over patients. Default 3 × patients. */
  readonly medications?: number;
  /** Rows per yielded batch (and per INSERT when seeding). Does not change the data. Default 5,000. */
  readonly batchSize?: number;
}

/** The row count of each demo table. */
export interface EhrSizes {
  readonly patients: number;
  readonly encounters: number;
  readonly medications: number;
}

/** Options with every default applied and every limit checked. */
export interface ResolvedEhrOptions extends EhrSizes {
  readonly seed: number;
  readonly batchSize: number;
}

/** The seed of the default dataset. */
export const DEFAULT_EHR_SEED = 0x0e4a2024;

/** The default number of patients. */
export const DEFAULT_EHR_PATIENTS = 10_000;

/** Encounters per patient when `encounters` is not given. */
export const DEFAULT_ENCOUNTERS_PER_PATIENT = 6;

/** Medications per patient when `medications` is not given. */
export const DEFAULT_MEDICATIONS_PER_PATIENT = 3;

/** The default batch size. */
export const DEFAULT_EHR_BATCH_SIZE = 5_000;

const MAX_PATIENTS = 9_999_999;
const MAX_ROWS = 2_147_483_647;

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`EHR option ${name} must be an integer in [${min}, ${max}]`, {
      details: { option: name },
    });
  }
  return value;
}

/** Applies the defaults and checks the limits; throws `ConfigurationError` on a bad value. */
export function resolveEhrOptions(options: EhrOptions = {}): ResolvedEhrOptions {
  const patients = checkInteger("patients", options.patients ?? DEFAULT_EHR_PATIENTS, 1, MAX_PATIENTS);
  return {
    seed: checkInteger("seed", options.seed ?? DEFAULT_EHR_SEED, 0, 0xffffffff),
    patients,
    encounters: checkInteger(
      "encounters",
      options.encounters ?? patients * DEFAULT_ENCOUNTERS_PER_PATIENT,
      0,
      MAX_ROWS,
    ),
    medications: checkInteger(
      "medications",
      options.medications ?? patients * DEFAULT_MEDICATIONS_PER_PATIENT,
      0,
      MAX_ROWS,
    ),
    batchSize: checkInteger("batchSize", options.batchSize ?? DEFAULT_EHR_BATCH_SIZE, 1, 1_000_000),
  };
}

/** The exact row count of each table for these options (a pure function; nothing is generated). */
export function ehrSizes(options: EhrOptions = {}): EhrSizes {
  const { patients, encounters, medications } = resolveEhrOptions(options);
  return { patients, encounters, medications };
}
