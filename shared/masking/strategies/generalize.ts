// Strategy `generalize`: replace the value by a coarser one (a year, a month, a ZIP3, an age band); the result is text.
import * as z from "zod";
import { unexpected, walker } from "../cell-walk.ts";
import { compileGeneralizer, type GeneralizeTarget, generalizeTargetSchema } from "../generalize.ts";
import { accessShape } from "../rule-access.ts";
import { defineStrategy } from "../strategy.ts";

/** `generalize`: replace the value by a coarser one (see {@link generalizeTargetSchema}); the result is text. */
export const generalizeRuleSchema = z.strictObject({
  strategy: z.literal("generalize"),
  to: generalizeTargetSchema,
  ...accessShape,
});

/** A `generalize` rule after parsing. */
export type GeneralizeRule = z.output<typeof generalizeRuleSchema>;

const DATE_TARGETS = {
  month: { year: false, birth: false },
  year: { year: true, birth: false },
  birth_month: { year: false, birth: true },
  birth_year: { year: true, birth: true },
} as const;

const isDateTarget = (to: GeneralizeTarget): to is keyof typeof DATE_TARGETS => to in DATE_TARGETS;

/** A coarsened real value reaches the caller (Safe Harbor level: a year, a ZIP3). */
export const generalizeStrategy = defineStrategy({
  schema: generalizeRuleSchema,
  rank: 1,
  outputsText: true,
  keeps: (rule) => rule.to.replace("_", " "),
  compile: (rule, { position, ctx }) => {
    const generalize = compileGeneralizer(rule.to, ctx.generalize);
    const withheld = ctx.withheld;
    const one = (v: string | number): string | null => {
      const out = generalize(v);
      if (out === null) withheld.count++;
      return out;
    };
    const slow = walker(
      position,
      (v) => {
        if (typeof v === "boolean") throw unexpected(position);
        return one(v);
      },
      null,
    );
    return (v) => (typeof v === "string" ? one(v) : slow(v));
  },
  // The coarser date granularity, the birth-date bucket if either asks; dates, ZIP and age cannot be combined.
  meet: (a, b) => {
    if (a.to === b.to) return a;
    if (!isDateTarget(a.to) || !isDateTarget(b.to)) return null;
    const x = DATE_TARGETS[a.to];
    const y = DATE_TARGETS[b.to];
    const year = x.year || y.year;
    const birth = x.birth || y.birth;
    const to: GeneralizeTarget = birth ? (year ? "birth_year" : "birth_month") : "year";
    return { strategy: "generalize" as const, to };
  },
});
