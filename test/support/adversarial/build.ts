// Builders and shared values of the adversarial statements: the patients they read, the protected columns a denial names.

import type {
  AdversarialOutcome,
  AdversarialStatement,
  DenialNames,
} from "#test/support/adversarial/types.ts";
import { firstPatients } from "#test/support/leak-forms.ts";

/** Statements read patients with ids 1..ADVERSARIAL_PATIENTS (and their encounters and medications) only. */
export const ADVERSARIAL_PATIENTS = 10;

const [first, second] = firstPatients(2);
if (first === undefined || second === undefined) throw new Error("the generator made no patients");
/** Patient 1 as generated, for lookups and guess-confirmation probes. */
export const ONE = first;
/** Patient 2 as generated. */
export const TWO = second;

/** `FROM` the first patients. */
export const P = `FROM patients WHERE id <= ${ADVERSARIAL_PATIENTS}`;
/** `FROM` the first patients, aliased `p`. */
export const PP = `FROM patients p WHERE p.id <= ${ADVERSARIAL_PATIENTS}`;
/** `FROM` the first patients' encounters. */
export const E = `FROM encounters WHERE patient_id <= ${ADVERSARIAL_PATIENTS}`;
/** `FROM` the first patients' encounters, aliased `e`. */
export const EE = `FROM encounters e WHERE e.patient_id <= ${ADVERSARIAL_PATIENTS}`;

/** A column of patients, qualified as a denial names it. */
export const col = (name: string) => `public.patients.${name}`;
/** Protected columns of the demo policy (qualified), and the detector column. */
export const SSN = col("ssn");
export const MRN = col("mrn");
export const FIRST = col("first_name");
export const LAST = col("last_name");
export const DOB = col("dob");
export const ZIP = col("zip");
export const PHONE = col("phone");
export const EMAIL = col("email");
export const ADDRESS = col("address");
export const NOTES = "public.encounters.notes";
/** Tables (whole-row denials name the table). */
export const PATIENTS = "public.patients";
export const ENCOUNTERS = "public.encounters";

/** A statement, or a statement with its extra fields. */
export type Entry =
  | string
  | readonly [string, Omit<AdversarialStatement, "category" | "sql" | "expect" | "names">];

/** Statements of one category and outcome (with what a denial must name, if given). */
export function entries(
  category: string,
  expect: AdversarialOutcome,
  list: readonly Entry[],
  names?: DenialNames,
): AdversarialStatement[] {
  return list.map((entry) => {
    const [sql, extra] = typeof entry === "string" ? [entry, {}] : entry;
    return { category, sql, expect, ...extra, ...(names === undefined ? {} : { names }) };
  });
}

/** Statements the opacity rule must deny, naming one of `columns` and one of `constructs`. */
export function deny(
  category: string,
  columns: string | readonly string[],
  constructs: readonly string[],
  list: readonly Entry[],
): AdversarialStatement[] {
  return entries(category, "denied", list, {
    columns: typeof columns === "string" ? [columns] : columns,
    constructs,
  });
}

/** Denials of single constructs: `[construct, column, sql]` (`like` also accepts `~~`, the operator's name). */
export function functions(
  category: string,
  rows: readonly (readonly [string, string, string])[],
): AdversarialStatement[] {
  return rows.flatMap(([construct, column, sql]) =>
    deny(category, column, construct === "like" ? ["~~", "like"] : [construct], [sql]),
  );
}

/** Statements answered 200 with at least one masked column. */
export const masked = (category: string, list: readonly Entry[]) => entries(category, "masked", list);
/** Statements answered 200 with no masked column. */
export const allowed = (category: string, list: readonly Entry[]) => entries(category, "allowed", list);
/** Statements sent to an approver (and masked once approved). */
export const approval = (category: string, list: readonly Entry[]) => entries(category, "approval", list);
/** Denied by a rule other than opacity (grants, kind, always-denied functions): only the outcome is checked. */
export const deniedOther = (category: string, list: readonly Entry[]) => entries(category, "denied", list);

/** The words naming a cast. */
export const CAST = ["cast", "::"];
/** The SQL holds protected values on purpose. */
export const GUESS = { guess: true } as const;

/** `n` MRN-shaped literals for lookups, patient 1's first (the rest match nobody). */
export function mrnLiterals(n: number): string {
  const fakes = Array.from({ length: n - 1 }, (_, i) => `'MRN-00${String(i).padStart(5, "0")}'`);
  return [`'${ONE.mrn}'`, ...fakes].join(", ");
}
