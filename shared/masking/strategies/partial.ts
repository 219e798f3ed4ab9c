// Strategy `partial`: keep the first and last significant characters, mask the rest, keep the separators.
import * as z from "zod";
import { unexpected, walker } from "../cell-walk.ts";
import { maskPartial } from "../partial.ts";
import { accessShape } from "../rule-access.ts";
import { defineStrategy } from "../strategy.ts";

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

/** A `partial` rule after parsing. */
export type PartialRule = z.output<typeof partialRuleSchema>;

/** The least strict strategy: literal characters and the format reach the caller. */
export const partialStrategy = defineStrategy({
  schema: partialRuleSchema,
  rank: 0,
  outputsText: true,
  keeps: (rule) => `the first ${rule.keepFirst} and last ${rule.keepLast} characters`,
  compile: (rule, { position, ctx, detectors }) => {
    const hits = ctx.detectorHits;
    const partial = (text: string): string =>
      maskPartial(detectors === null ? text : detectors.scan(text, hits), rule);
    const slow = walker(
      position,
      (v) => {
        if (typeof v === "boolean") throw unexpected(position);
        return partial(typeof v === "string" ? v : String(v));
      },
      null,
    );
    return (v) => (typeof v === "string" ? partial(v) : slow(v));
  },
  // The fewer characters on each side; the mask character only when both agree.
  meet: (a, b) => ({
    strategy: "partial" as const,
    keepFirst: Math.min(a.keepFirst, b.keepFirst),
    keepLast: Math.min(a.keepLast, b.keepLast),
    maskChar: a.maskChar === b.maskChar ? a.maskChar : "*",
  }),
});
