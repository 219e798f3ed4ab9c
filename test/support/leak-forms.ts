// Raw values of the protected patient columns and their derived forms, and a finder that reports any of them in a text.

import { createHash } from "node:crypto";
import { generatePatients } from "#tools/ehr/generate.ts";
import type { PatientRow } from "#tools/ehr/patients.ts";

/** The patient columns the demo policy protects. */
export const PROTECTED_COLUMNS = [
  "ssn",
  "mrn",
  "first_name",
  "last_name",
  "dob",
  "zip",
  "phone",
  "email",
  "address",
] as const;

/** One protected column. */
export type ProtectedColumn = (typeof PROTECTED_COLUMNS)[number];

/** Columns whose digits alone identify the value (a digits-only form is searched for them). */
const NUMERIC_COLUMNS: ReadonlySet<ProtectedColumn> = new Set(["ssn", "mrn", "dob", "zip", "phone"]);

/** A form searched for: the text, what it is derived from, and how. */
export interface LeakForm {
  readonly patientId: number;
  readonly column: ProtectedColumn;
  /** `raw`, `digits`, `reversed`, `upper`, `lower`, `base64`, `hex`, `md5`, `sha256`. */
  readonly how: string;
  readonly text: string;
  /** Matched only when not preceded or followed by a letter or digit (short forms that could occur by chance). */
  readonly bounded: boolean;
}

/** A form found in a text. */
export interface LeakHit {
  readonly patientId: number;
  readonly column: ProtectedColumn;
  readonly how: string;
  readonly form: string;
}

/** The first `n` patients of the default dataset (ids 1..n), as the generator writes them. */
export function firstPatients(n: number): PatientRow[] {
  const rows: PatientRow[] = [];
  for (const batch of generatePatients({ batchSize: Math.max(1, n) })) {
    rows.push(...batch.slice(0, n - rows.length));
    if (rows.length >= n) break;
  }
  return rows;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Every form of every protected value of `patients`: the raw value and its digits-only (numeric columns),
 * reversed, upper- and lower-case, base64, hex, MD5 and SHA-256 (hex) forms. Forms shorter than eight
 * characters are matched as whole tokens only, so a five-digit ZIP does not match inside a random hex digest.
 */
export function leakForms(patients: readonly PatientRow[]): LeakForm[] {
  const forms: LeakForm[] = [];
  for (const patient of patients) {
    for (const column of PROTECTED_COLUMNS) {
      const value = patient[column];
      if (value === null || value === "") continue;
      const derived: [string, string][] = [
        ["raw", value],
        ["reversed", [...value].reverse().join("")],
        ["upper", value.toUpperCase()],
        ["lower", value.toLowerCase()],
        ["base64", Buffer.from(value, "utf8").toString("base64")],
        ["hex", Buffer.from(value, "utf8").toString("hex")],
        ["md5", createHash("md5").update(value, "utf8").digest("hex")],
        ["sha256", createHash("sha256").update(value, "utf8").digest("hex")],
      ];
      if (NUMERIC_COLUMNS.has(column)) {
        const digits = value.replace(/\D/g, "");
        derived.push(["digits", digits], ["digits-reversed", [...digits].reverse().join("")]);
      }
      const seen = new Set<string>();
      for (const [how, text] of derived) {
        if (text.length < 3 || seen.has(text)) continue;
        seen.add(text);
        forms.push({ patientId: patient.id, column, how, text, bounded: text.length < 8 });
      }
    }
  }
  return forms;
}

/** Forms derived by hashing or hex-encoding: matched in a text as it is, digests included. */
const HASHED = new Set(["hex", "md5", "sha256"]);

/** Fields in which the gateway records a SHA-256 of its own (`digest`, `sqlDigest`, `prev`, `resultSha256`, ...). */
const DIGEST_FIELD = /^(?:prev|hash|digests?|sha256)$|(?:Digest|Sha256|Hash)$/;
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * The SHA-256 digests the gateway recorded in a JSON value: 64-hex strings in fields named for a digest, outside
 * any `rows` (cells are never taken for digests, whatever their column is named). A digest is 64 random hex
 * characters, so an eight-digit form turns up inside one now and then by chance (a record's digest is the next
 * record's `prev`, so both answer it); the finder skips these values for every form but the hashed ones.
 */
export function recordedDigests(value: unknown, into: Set<string> = new Set()): Set<string> {
  const visit = (node: unknown, field: string | undefined): void => {
    if (typeof node === "string") {
      if (field !== undefined && DIGEST_FIELD.test(field) && SHA256_HEX.test(node)) into.add(node);
    } else if (Array.isArray(node)) {
      for (const item of node) visit(item, field);
    } else if (node !== null && typeof node === "object") {
      for (const [key, item] of Object.entries(node)) if (key !== "rows") visit(item, key);
    }
  };
  visit(value, undefined);
  return into;
}

/**
 * Compiles forms into a finder that returns every form present in a text (hex forms case-insensitively). The
 * `digests` given (see `recordedDigests`) are blanked before any form but the hashed ones is looked for.
 */
export function leakFinder(
  forms: readonly LeakForm[],
): (text: string, digests?: ReadonlySet<string>) => LeakHit[] {
  const compiled = forms.map((form) => {
    const body = escapeRegex(form.text);
    const pattern = form.bounded ? `(?<![\\p{L}\\p{N}])${body}(?![\\p{L}\\p{N}])` : body;
    const hashed = HASHED.has(form.how);
    return { form, hashed, regex: new RegExp(pattern, hashed ? "iu" : "u") };
  });
  return (text, digests) => {
    let blanked = text;
    for (const digest of digests ?? []) blanked = blanked.replace(new RegExp(digest, "gi"), "#");
    const hits: LeakHit[] = [];
    for (const { form, hashed, regex } of compiled) {
      if (regex.test(hashed ? text : blanked))
        hits.push({ patientId: form.patientId, column: form.column, how: form.how, form: form.text });
    }
    return hits;
  };
}
