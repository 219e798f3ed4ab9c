// Strategy `tokenize`: a readable prefix plus a keyed HMAC of the normalized value, so equal values still join.
import * as z from "zod";
import { walker } from "../cell-walk.ts";
import { accessShape } from "../rule-access.ts";
import { defineStrategy } from "../strategy.ts";
import { type TokenNormalization, tokenNormalizationSchema } from "../tokenize.ts";

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

/** A `tokenize` rule after parsing. */
export type TokenizeRule = z.output<typeof tokenizeRuleSchema>;

function sameNormalization(a: readonly TokenNormalization[], b: readonly TokenNormalization[]): boolean {
  return a.length === b.length && a.every((n) => b.includes(n)) && b.every((n) => a.includes(n));
}

/** No content reaches the caller, only equality between values. */
export const tokenizeStrategy = defineStrategy({
  schema: tokenizeRuleSchema,
  rank: 2,
  outputsText: true,
  keeps: (rule) => `equality only (a token with prefix ${rule.prefix}; equal values share a token)`,
  compile: (rule, { position, ctx }) => {
    const tokenize = ctx.tokenizer(rule);
    const slow = walker(
      position,
      (v) => tokenize(typeof v === "string" ? v : String(v)),
      (o) => tokenize(JSON.stringify(o)),
    );
    return (v) => (typeof v === "string" ? tokenize(v) : slow(v));
  },
  // Every normalization either asks for (merging more spellings reveals less); the prefix `tok` unless both agree.
  meet: (a, b) => {
    if (a.prefix === b.prefix && sameNormalization(a.normalize, b.normalize)) return a;
    return {
      strategy: "tokenize" as const,
      prefix: a.prefix === b.prefix ? a.prefix : "tok",
      normalize: tokenNormalizationSchema.options.filter(
        (n) => a.normalize.includes(n) || b.normalize.includes(n),
      ),
    };
  },
});
