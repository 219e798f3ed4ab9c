// Strategy `redact`: a constant in place of the value (text columns), null for every other type.
import * as z from "zod";
import { isTextType, walker } from "../cell-walk.ts";
import { accessShape } from "../rule-access.ts";
import { defineStrategy } from "../strategy.ts";

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

/** A `redact` rule after parsing. */
export type RedactRule = z.output<typeof redactRuleSchema>;

/** The rule two rules fall back to when their meet is not one of theirs. */
export const DEFAULT_REDACT: RedactRule = { strategy: "redact", replacement: DEFAULT_REDACTION };

/** Only whether a value is present reaches the caller. */
export const redactStrategy = defineStrategy({
  schema: redactRuleSchema,
  rank: 3,
  outputsText: false,
  keeps: (rule) => `nothing (replaced by ${JSON.stringify(rule.replacement)} for text, null otherwise)`,
  compile: (rule, { position, column }) => {
    const constant = isTextType(column) ? rule.replacement : null;
    const slow = walker(
      position,
      () => constant,
      () => constant,
    );
    return (v) => (typeof v === "string" ? constant : slow(v));
  },
  // A shared replacement, else the default.
  meet: (a, b) => (a.replacement === b.replacement ? a : DEFAULT_REDACT),
});
