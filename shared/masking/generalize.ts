// The `generalize` algorithm: dates to year/month (dates of birth with the Safe Harbor 90+ bucket), ZIP to 3 digits, ages to 90+.
import * as z from "zod";

/**
 * What `generalize` coarsens a value to: dates or timestamps to `year` / `month`; dates of birth to
 * `birth_year` / `birth_month` (as year / month, but everyone who may be older than 89 falls into one
 * `<=YYYY` bucket, HIPAA Safe Harbor); a ZIP code to `zip3` (its first three digits, `000` for the
 * sparsely populated prefixes); an age to `age` (over 89 → `90+`).
 */
export const generalizeTargetSchema = z.enum(["year", "month", "birth_year", "birth_month", "zip3", "age"]);

/** A `generalize` target. */
export type GeneralizeTarget = z.output<typeof generalizeTargetSchema>;

/**
 * ZIP3 prefixes HIPAA Safe Harbor requires to be reported as `000`: every 3-digit prefix whose geographic
 * units hold 20,000 people or fewer (HHS de-identification guidance, 2000 Census).
 */
export const RESTRICTED_ZIP3: ReadonlySet<string> = new Set([
  "036",
  "059",
  "063",
  "102",
  "203",
  "556",
  "692",
  "790",
  "821",
  "823",
  "830",
  "831",
  "878",
  "879",
  "884",
  "890",
  "893",
]);

/** Oldest age Safe Harbor lets through as such; older ages are aggregated. */
export const MAX_REPORTED_AGE = 89;

const DATE = /^\d{4,6}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:$|[T ])/;
const ZIP = /^(\d{3})\d{2}(?:-?\d{4})?$/;
const AGE = /^\d{1,3}(?:\.\d+)?$/;

/** What a generalizer needs to know about "now". */
export interface GeneralizeContext {
  /** The current UTC year (from the injected clock). */
  readonly currentYear: number;
}

/**
 * The latest birth year that is bucketed: anyone born in it or before may be older than 89 now
 * (`currentYear − 90`; someone born a year later is at most 89 all year long).
 */
export function birthYearCutoff(ctx: GeneralizeContext): number {
  return ctx.currentYear - (MAX_REPORTED_AGE + 1);
}

/**
 * A generalizer for one target: returns the coarsened value, or null when the value does not have the
 * expected form (a date that is not `YYYY-MM-DD…` or is BC / infinite, a ZIP that is not 5 or 5+4 digits, an
 * age that is not a non-negative number) — a value that cannot be coarsened is withheld, never passed
 * through. Results are text: `year` → `1984`; `month` → `1984-03`; `birth_year` / `birth_month` → the same,
 * or `<=YYYY` for every birth year at or before {@link birthYearCutoff}; `zip3` → `021` (or `000`); `age` →
 * `42` or `90+`.
 */
export function compileGeneralizer(
  to: GeneralizeTarget,
  ctx: GeneralizeContext,
): (value: string | number) => string | null {
  switch (to) {
    case "year":
    case "month":
    case "birth_year":
    case "birth_month": {
      const cutoff =
        to === "birth_year" || to === "birth_month" ? birthYearCutoff(ctx) : Number.NEGATIVE_INFINITY;
      const bucket = `<=${cutoff}`;
      const yearOnly = to === "year" || to === "birth_year";
      return (value) => {
        if (typeof value !== "string" || value.endsWith(" BC")) return null;
        if (!DATE.test(value)) return null;
        const dash = value.indexOf("-");
        const year = value.slice(0, dash);
        if (Number(year) <= cutoff) return bucket;
        return yearOnly ? year : value.slice(0, dash + 3);
      };
    }
    case "zip3":
      return (value) => {
        let zip: string;
        if (typeof value === "number") {
          if (!Number.isInteger(value) || value < 0 || value > 99_999) return null;
          zip = String(value).padStart(5, "0");
        } else {
          zip = value.trim();
        }
        const m = ZIP.exec(zip);
        if (m === null) return null;
        const prefix = m[1] ?? "";
        return RESTRICTED_ZIP3.has(prefix) ? "000" : prefix;
      };
    case "age":
      return (value) => {
        const text = typeof value === "number" ? String(value) : value.trim();
        if (!AGE.test(text)) return null;
        return Number(text) > MAX_REPORTED_AGE ? `${MAX_REPORTED_AGE + 1}+` : text;
      };
  }
}

/** Generalizes one value (see {@link compileGeneralizer}). */
export function generalizeValue(
  to: GeneralizeTarget,
  value: string | number,
  ctx: GeneralizeContext,
): string | null {
  return compileGeneralizer(to, ctx)(value);
}
