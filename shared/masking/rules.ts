// Policy-facing zod schemas of masking: column rules (one strategy each), the detector section, the masking section.
import * as z from "zod";
import { checkDetectorConfig, detectorConfigShape } from "./detector-rules.ts";
import { type ColumnRule, STRATEGIES } from "./strategies.ts";

/** The schema of one strategy's rule, as the discriminated union takes it. */
type AnyRuleObject = z.ZodObject<{ strategy: z.ZodLiteral<string> }>;

/** A column rule as written in the policy file (defaults not applied yet). */
type ColumnRuleInput = {
  [S in keyof typeof STRATEGIES]: z.input<(typeof STRATEGIES)[S]["schema"]>;
}[keyof typeof STRATEGIES];

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
 * A column rule: exactly one strategy with its parameters. The schemas are the strategies' own (strategies.ts), so
 * the policy accepts exactly the strategies the masker knows.
 */
export const columnRuleSchema = z.discriminatedUnion(
  "strategy",
  Object.values(STRATEGIES).map((strategy) => strategy.schema) as unknown as [
    AnyRuleObject,
    ...AnyRuleObject[],
  ],
) as unknown as z.ZodType<ColumnRule, ColumnRuleInput>;

/** Rules by column, `schema.table.column` → rule (the policy's defaults, or one principal's overrides). */
export const columnRulesSchema = z.record(columnKeySchema, columnRuleSchema);

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

/** The masking section of a policy after parsing. */
export type MaskingPolicy = z.output<typeof maskingPolicySchema>;
