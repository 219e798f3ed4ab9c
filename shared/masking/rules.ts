// Policy-facing zod schemas of masking: column rules (one strategy each), content detectors, the masking section.
import * as z from "zod";
import { checkSafePattern } from "./safe-pattern.ts";

/**
 * A base column as the policy names it: `schema.table.column`, each part an unquoted PostgreSQL identifier
 * as PostgreSQL folds it (lower case). Mixed-case names are rejected rather than silently never matching
 * the lowercase names the SQL analysis reports.
 */
export const columnKeySchema = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*\.[a-z_][a-z0-9_$]*$/,
    "expected schema.table.column in lower case, e.g. public.patients.ssn",
  );

/**
 * How a protected column may be used besides being selected (docs/masking.md, "Opacity"): `lookup` — whether a
 * statement may compare it for equality with literals in a WHERE / INNER JOIN condition (`allow`, `approval`:
 * only with an approver's consent, `deny`: never, the default); `type` — its semantic type: equi-joins are
 * allowed only between protected columns of the same type, and only for columns that name one (joining
 * reveals which rows share a value, which the masking itself may not show).
 */
const accessShape = {
  lookup: z.enum(["allow", "approval", "deny"]).optional(),
  type: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,31}$/, "a lower-case name of up to 32 letters, digits or underscores")
    .optional(),
};

/** The default replacement of `redact` for text columns. */
export const DEFAULT_REDACTION = "[REDACTED]";

/**
 * `redact`: replace the value by a constant. Text-typed columns get `replacement`; every other type
 * (numbers, dates, json, ...) gets null, so the value stays valid for the column's declared type.
 */
export const redactRuleSchema = z.strictObject({
  strategy: z.literal("redact"),
  replacement: z.string().min(1).max(64).default(DEFAULT_REDACTION),
  ...accessShape,
});

/**
 * `partial`: keep the first `keepFirst` and last `keepLast` significant characters, replace every other
 * significant character by `maskChar`; separators (whitespace, ASCII punctuation) are kept so the format
 * survives (`123-45-6789` → `***-**-6789`). A value with no more significant characters than it would keep
 * is masked entirely.
 */
export const partialRuleSchema = z.strictObject({
  strategy: z.literal("partial"),
  keepFirst: z.int().min(0).max(32).default(0),
  keepLast: z.int().min(0).max(32).default(0),
  maskChar: z
    .string()
    .regex(/^[!-/:-~]$/, "one printable ASCII character that is not a digit")
    .default("*"),
  ...accessShape,
});

/** Normalizations a `tokenize` rule may apply before hashing so that spellings of one value share a token. */
export const tokenNormalizationSchema = z.enum(["case", "whitespace", "unicode"]);

/**
 * `tokenize`: `prefix` + `_` + the first 96 bits of HMAC-SHA256(key, normalized value) in hex. Deterministic
 * for a key (joins across reports keep working), unrelated across keys.
 */
export const tokenizeRuleSchema = z.strictObject({
  strategy: z.literal("tokenize"),
  prefix: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,15}$/, "1-16 lower-case letters or digits, starting with a letter")
    .default("tok"),
  normalize: z.array(tokenNormalizationSchema).max(3).default([]),
  ...accessShape,
});

/**
 * What `generalize` coarsens a value to: dates or timestamps to `year` / `month`; dates of birth to
 * `birth_year` / `birth_month` (as year / month, but everyone who may be older than 89 falls into one
 * `<=YYYY` bucket, HIPAA Safe Harbor); a ZIP code to `zip3` (its first three digits, `000` for the
 * sparsely populated prefixes); an age to `age` (over 89 → `90+`).
 */
export const generalizeTargetSchema = z.enum(["year", "month", "birth_year", "birth_month", "zip3", "age"]);

/** `generalize`: replace the value by a coarser one (see {@link generalizeTargetSchema}); the result is text. */
export const generalizeRuleSchema = z.strictObject({
  strategy: z.literal("generalize"),
  to: generalizeTargetSchema,
  ...accessShape,
});

/** `nullify`: replace the value by null (valid for every type, reveals nothing). */
export const nullifyRuleSchema = z.strictObject({ strategy: z.literal("nullify"), ...accessShape });

/** A column rule: exactly one strategy with its parameters. */
export const columnRuleSchema = z.discriminatedUnion("strategy", [
  redactRuleSchema,
  partialRuleSchema,
  tokenizeRuleSchema,
  generalizeRuleSchema,
  nullifyRuleSchema,
]);

/** Rules by column, `schema.table.column` → rule (the policy's defaults, or one principal's overrides). */
export const columnRulesSchema = z.record(columnKeySchema, columnRuleSchema);

/** The kinds of content the detectors find in free text. */
export const detectorKindSchema = z.enum(["ssn", "phone", "email", "mrn", "date"]);

/** Every detector kind, in the order spans are preferred when two start at the same place. */
export const DETECTOR_KINDS = detectorKindSchema.options;

/** The marker that replaces a detected span, by kind, unless the policy says otherwise. */
export const DEFAULT_DETECTOR_REPLACEMENTS: Readonly<Record<DetectorKind, string>> = {
  ssn: "[SSN]",
  phone: "[PHONE]",
  email: "[EMAIL]",
  mrn: "[MRN]",
  date: "[DATE]",
};

const replacementSchema = z.string().min(1).max(32);

const detectorConfigShape = z.strictObject({
  kinds: z.array(detectorKindSchema).min(1).default(["ssn", "phone", "email", "date"]),
  mrnPattern: z.string().min(1).max(200).optional(),
  replacements: z
    .strictObject({
      ssn: replacementSchema.optional(),
      phone: replacementSchema.optional(),
      email: replacementSchema.optional(),
      mrn: replacementSchema.optional(),
      date: replacementSchema.optional(),
    })
    .default({}),
});

function checkDetectorConfig(
  config: { kinds: readonly DetectorKind[]; mrnPattern?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (config.kinds.includes("mrn") && config.mrnPattern === undefined) {
    ctx.addIssue({ code: "custom", path: ["mrnPattern"], message: "the mrn detector needs mrnPattern" });
  }
  if (config.mrnPattern !== undefined) {
    const problem = checkSafePattern(config.mrnPattern);
    if (problem !== null) ctx.addIssue({ code: "custom", path: ["mrnPattern"], message: problem });
  }
}

/**
 * Content detector configuration: which kinds run (default: all but `mrn`, which needs a pattern), the MRN
 * pattern (a restricted regular expression, rejected when the policy loads if it could backtrack
 * catastrophically or match the empty string) and the marker per kind.
 */
export const detectorConfigSchema = detectorConfigShape.superRefine(checkDetectorConfig);

/** The detector section of the policy: the configuration plus the free-text columns it applies to. */
export const detectorSectionSchema = detectorConfigShape
  .extend({ columns: z.array(columnKeySchema).default([]) })
  .superRefine(checkDetectorConfig);

/**
 * The masking section of a policy file: rules by column, what happens to transformed protected columns
 * (`strictest`: null them; `deny`: refuse the statement), whole-row references (always denied when the
 * table has protected columns) and the detectors.
 */
export const maskingPolicySchema = z.strictObject({
  onTransform: z.enum(["strictest", "deny"]).default("strictest"),
  wholeRow: z.literal("deny").default("deny"),
  rules: columnRulesSchema.default({}),
  detectors: detectorSectionSchema.default({
    columns: [],
    kinds: ["ssn", "phone", "email", "date"],
    replacements: {},
  }),
});

/** A column rule after parsing (defaults applied). */
export type ColumnRule = z.output<typeof columnRuleSchema>;
/** A `redact` rule after parsing. */
export type RedactRule = z.output<typeof redactRuleSchema>;
/** A `partial` rule after parsing. */
export type PartialRule = z.output<typeof partialRuleSchema>;
/** A `tokenize` rule after parsing. */
export type TokenizeRule = z.output<typeof tokenizeRuleSchema>;
/** A `generalize` rule after parsing. */
export type GeneralizeRule = z.output<typeof generalizeRuleSchema>;
/** A `nullify` rule. */
export type NullifyRule = z.output<typeof nullifyRuleSchema>;
/** How a column may be looked up (see the rule's `lookup`). */
export type LookupPermission = NonNullable<ColumnRule["lookup"]>;
/** A masking strategy name. */
export type MaskingStrategy = ColumnRule["strategy"];
/** A `generalize` target. */
export type GeneralizeTarget = z.output<typeof generalizeTargetSchema>;
/** A `tokenize` normalization. */
export type TokenNormalization = z.output<typeof tokenNormalizationSchema>;
/** A detector kind. */
export type DetectorKind = z.output<typeof detectorKindSchema>;
/** Detector configuration after parsing. */
export type DetectorConfig = z.output<typeof detectorConfigSchema>;
/** The masking section of a policy after parsing. */
export type MaskingPolicy = z.output<typeof maskingPolicySchema>;
