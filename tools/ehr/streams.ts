// The purpose tags that key independent PRNG streams, so one table's values never shift another's.

/** Keys mixed with the dataset seed to derive an independent stream per purpose (and per row index). */
export const Stream = {
  patient: 1,
  encounters: 2,
  medications: 3,
  encounterWeight: 4,
  medicationWeight: 5,
  mrn: 6,
  ssn: 7,
} as const;
