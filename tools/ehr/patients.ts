// Generates one synthetic patient from (seed, index) alone, so any patient can be regenerated without the others.

import { isoDate, REFERENCE_DAY } from "./dates.ts";
import { emailFor, type FictionalPhone, fictionalPhone, formatPhone, mrnFor, ssnFor } from "./identifiers.ts";
import { FEMALE_FIRST_NAMES, LAST_NAMES, MALE_FIRST_NAMES, NEUTRAL_FIRST_NAMES } from "./names.ts";
import { CITIES, type City, STREET_NAMES, STREET_SUFFIXES } from "./places.ts";
import { Prng, WeightedTable } from "./prng.ts";
import { Stream } from "./streams.ts";

/** A row of `patients`, keyed by column name. */
export interface PatientRow {
  readonly id: number;
  readonly mrn: string;
  readonly ssn: string;
  readonly first_name: string;
  readonly last_name: string;
  /** `YYYY-MM-DD`. */
  readonly dob: string;
  readonly sex: "F" | "M" | "X";
  readonly address: string;
  readonly city: string;
  readonly state: string;
  /** 5 digits; the first 3 are the city's ZIP prefix. */
  readonly zip: string;
  /** `617-555-0142` (fictional range), or null. */
  readonly phone: string | null;
  /** At example.com, example.org or example.net, or null. */
  readonly email: string | null;
}

/** A patient row with the facts the encounter and medication generators derive from. */
export interface Patient {
  readonly index: number;
  readonly row: PatientRow;
  /** Birth date as a day number (days since 1970-01-01). */
  readonly dobDay: number;
  readonly city: City;
  readonly phone: FictionalPhone | null;
}

const CITY_TABLE = new WeightedTable(CITIES);
const SEX_TABLE = new WeightedTable<PatientRow["sex"]>([
  ["F", 495],
  ["M", 495],
  ["X", 10],
]);
/** Age ranges at the reference day; the last one (over 89) is what Safe Harbor generalizes. */
const AGE_TABLE = new WeightedTable<readonly [number, number]>([
  [[0, 17], 15],
  [[18, 39], 26],
  [[40, 64], 32],
  [[65, 89], 24],
  [[90, 104], 3],
]);

function firstNames(sex: PatientRow["sex"]): readonly string[] {
  if (sex === "F") return FEMALE_FIRST_NAMES;
  if (sex === "M") return MALE_FIRST_NAMES;
  return NEUTRAL_FIRST_NAMES;
}

function address(rng: Prng): string {
  const street = `${rng.int(1, 9899)} ${rng.pick(STREET_NAMES)} ${rng.pick(STREET_SUFFIXES)}`;
  return rng.chance(0.15) ? `${street}, Apt ${rng.int(1, 40)}${rng.pick(["", "A", "B", "C"])}` : street;
}

/** The patient at 0-based `index` of the dataset with `seed` (its id is `index + 1`). */
export function patientAt(seed: number, index: number): Patient {
  const rng = new Prng(seed, Stream.patient, index);
  const sex = SEX_TABLE.pick(rng);
  const firstName = rng.pick(firstNames(sex));
  const lastName = rng.pick(LAST_NAMES);
  const [minAge, maxAge] = AGE_TABLE.pick(rng);
  const age = rng.int(minAge, maxAge);
  const dobDay = REFERENCE_DAY - Math.floor((age + 1) * 365.2425) + rng.int(0, 364);
  const city = CITY_TABLE.pick(rng);
  const phone = rng.chance(0.92) ? fictionalPhone(rng, rng.pick(city.areaCodes)) : null;
  const email = rng.chance(0.7) ? emailFor(rng, firstName, lastName) : null;
  const row: PatientRow = {
    id: index + 1,
    mrn: mrnFor(seed, index),
    ssn: ssnFor(seed, index),
    first_name: firstName,
    last_name: lastName,
    dob: isoDate(dobDay),
    sex,
    address: address(rng),
    city: city.city,
    state: city.state,
    zip: `${city.zip3}${String(rng.int(1, 99)).padStart(2, "0")}`,
    phone: phone === null ? null : formatPhone(phone, "dashed"),
    email,
  };
  return { index, row, dobDay, city, phone };
}
